package storetest

import "errors"

// sharedLockHolder is unix-only: Windows locks belong to a file handle, so
// closing another handle of the same file drops nothing, and the hazard the
// probe looks for does not exist there.
func sharedLockHolder(string) (int, error) {
	return 0, errors.New("the SQLite lock probe runs on unix only")
}
