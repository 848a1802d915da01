//go:build unix

package storetest

import (
	"os"

	"golang.org/x/sys/unix"
)

// SQLite's shared-lock range in a database file (os_unix.c): readers lock
// some of the 510 bytes after PENDING_BYTE+2.
const (
	sqliteSharedFirst = 0x40000000 + 2
	sqliteSharedSize  = 510
)

// sharedLockHolder asks the kernel which process, if any, holds a lock that
// would conflict with a write lock on SQLite's shared range of path.
func sharedLockHolder(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: 0, Start: sqliteSharedFirst, Len: sqliteSharedSize}
	if err := unix.FcntlFlock(f.Fd(), unix.F_GETLK, &lk); err != nil {
		return 0, err
	}
	if lk.Type == unix.F_UNLCK {
		return 0, nil
	}
	return int(lk.Pid), nil
}
