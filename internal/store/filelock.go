package store

import (
	"context"
	"time"

	"github.com/gofrs/flock"
)

// lockFile takes an exclusive lock on the file at path (flock on unix,
// LockFileEx on Windows), waiting until ctx is done. The operating system
// drops the lock if the process dies, so a crashed migrator never leaves it
// held. The file is a lock file beside the database, never the database:
// its descriptor can be opened and closed freely.
func lockFile(ctx context.Context, path string) (func(), error) {
	l := flock.New(path)
	ok, err := l.TryLockContext(ctx, 20*time.Millisecond)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, ctx.Err()
	}
	return func() { _ = l.Unlock() }, nil
}
