//go:build unix

package app

import "syscall"

// infraFaults are the system errors that mark an infrastructure fault.
var infraFaults = []struct {
	err  error
	kind string
}{
	{syscall.ENOSPC, "no_space"},
	{syscall.EDQUOT, "quota"},
	{syscall.EROFS, "read_only"},
	{syscall.EMFILE, "open_files"},
	{syscall.ENFILE, "open_files"},
}
