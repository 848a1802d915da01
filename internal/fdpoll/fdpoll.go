// Package fdpoll waits for a descriptor in Go's poller: the goroutine parks
// and no thread blocks in a system call, however long the wait.
package fdpoll

import (
	"errors"
	"syscall"

	"golang.org/x/sys/unix"
)

// Until waits on rc's descriptor until try reports it done. try is a
// non-blocking check (a read, a zero-timeout wait); it runs at once and
// again each time the poller reports the descriptor readable. An EINTR
// from try counts as not done. Until returns rc's own error first (such as
// os.ErrDeadlineExceeded once a read deadline has passed), else try's.
func Until(rc syscall.RawConn, try func(fd int) (done bool, err error)) error {
	var terr error
	err := rc.Read(func(fd uintptr) bool {
		done, err := try(int(fd))
		switch {
		case errors.Is(err, unix.EINTR):
			return false
		case err != nil:
			terr = err
			return true
		}
		return done
	})
	if err != nil {
		return err
	}
	return terr
}
