package app

import "syscall"

// infraFaults are the system errors that mark an infrastructure fault, as
// Windows reports them.
var infraFaults = []struct {
	err  error
	kind string
}{
	{syscall.Errno(112), "no_space"}, // ERROR_DISK_FULL
	{syscall.Errno(39), "no_space"},  // ERROR_HANDLE_DISK_FULL
	{syscall.Errno(1295), "quota"},   // ERROR_DISK_QUOTA_EXCEEDED
	{syscall.Errno(19), "read_only"}, // ERROR_WRITE_PROTECT
	{syscall.Errno(4), "open_files"}, // ERROR_TOO_MANY_OPEN_FILES
}
