package engine

import (
	"errors"
	"io"
	"os"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ade-dev/ade-worker/internal/fdpoll"
)

// An engine's output reaches the worker through a pipe, and what the pipe
// costs is paid by the engine: each write that finds the worker waiting on
// the pipe wakes a thread, and waking a thread costs the writer
// microseconds. The reference engine flushes every event, so an engine
// printing events as fast as it can ran a quarter slower when its pipe was
// read eagerly through Go's poller, whose epoll registration is woken by
// every write whether or not anyone is reading.
//
// So the read end is not in Go's poller. It sits in an epoll instance of
// its own, registered one-shot: armed only while the reader waits for
// output, and disarmed by the first write that wakes it, so later writes
// wake nobody. That private instance is what Go's poller waits on, so no
// thread blocks in a system call for the life of the engine (a thread
// blocked in one keeps Go's system monitor polling, which costs the worker
// CPU for every millisecond an engine runs). A stream that is streaming
// (reads coming back to back) is left alone for coalesceDelay between
// reads, so that the engine's writes pile up in the pipe's buffer and are
// read many at a time. A pause ends at once when the process exits, so no
// run waits on it.
const (
	// stdoutPipeSize is the buffer asked for the engine's stdout, where its
	// events go: at 200 MB/s an engine fills it in a millisecond, so a
	// pause rarely blocks the writer. Linux counts pipe buffers against a
	// per-user quota (pipe-user-pages-soft, 64 MiB by default) past which
	// every new pipe of the user gets a tiny one, so stderr keeps the
	// default 64 KiB and this stays well short of the 1 MiB allowed.
	stdoutPipeSize = 256 << 10

	// coalesceDelay is the pause between reads of a streaming output.
	coalesceDelay = time.Millisecond

	// hotGap is the longest gap between two reads for which the stream
	// still counts as streaming.
	hotGap = 2 * time.Millisecond
)

// newPipe returns a pipe whose write end is for the child and whose read
// end is wrapped in a pipeReader. size, when not 0, is the buffer to ask
// for.
func newPipe(size int) (r *pipeReader, w *os.File, err error) {
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_CLOEXEC); err != nil {
		return nil, nil, err
	}
	r, err = newPipeReader(fds[0])
	if err != nil {
		unix.Close(fds[0])
		unix.Close(fds[1])
		return nil, nil, err
	}
	if size > 0 {
		// Best effort: a user over its pipe-buffer quota keeps the default.
		_, _ = unix.FcntlInt(uintptr(fds[0]), unix.F_SETPIPE_SZ, size)
	}
	// The write end stays blocking: it is the child's stdout or stderr.
	return r, os.NewFile(uintptr(fds[1]), "|1"), nil
}

// pipeReader reads the worker's end of an output pipe. Read is called by
// one goroutine; Abandon may be called from another; Close once Read has
// returned for good.
type pipeReader struct {
	fd      int      // the read end, non-blocking
	ep      *os.File // the private epoll instance, in Go's poller
	rc      syscall.RawConn
	armed   bool            // the one-shot registration is armed
	exited  <-chan struct{} // closed when the process has exited; ends pauses
	abandon chan struct{}   // closed by Abandon
	once    sync.Once

	last  time.Time // when the previous read returned
	pause bool      // pause before the next read
	timer *time.Timer

	closeOnce sync.Once
}

func newPipeReader(fd int) (*pipeReader, error) {
	if err := unix.SetNonblock(fd, true); err != nil {
		return nil, err
	}
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLONESHOT, Fd: int32(fd)}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		unix.Close(epfd)
		return nil, err
	}
	// Non-blocking, so that os.NewFile hands it to Go's poller.
	if err := unix.SetNonblock(epfd, true); err != nil {
		unix.Close(epfd)
		return nil, err
	}
	ep := os.NewFile(uintptr(epfd), "epoll")
	rc, err := ep.SyscallConn()
	if err != nil {
		ep.Close()
		return nil, err
	}
	return &pipeReader{fd: fd, ep: ep, rc: rc, armed: true, abandon: make(chan struct{})}, nil
}

// Read waits for output and reads what is there. It returns io.EOF once
// every writer has closed its end, and os.ErrClosed once abandoned.
func (p *pipeReader) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	if p.pause {
		p.sleep()
	}
	for {
		select {
		case <-p.abandon:
			return 0, os.ErrClosed
		default:
		}
		n, err := unix.Read(p.fd, b)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EAGAIN):
			if err := p.wait(); err != nil {
				return 0, err
			}
			continue
		case err != nil:
			return 0, err
		case n == 0:
			return 0, io.EOF
		}
		now := time.Now()
		// A read that emptied the pipe (it did not fill b) soon after the
		// previous one: the engine is printing steadily, and the next read
		// can wait for more to gather.
		p.pause = n < len(b) && now.Sub(p.last) < hotGap
		p.last = now
		return n, nil
	}
}

// wait arms the one-shot registration and waits, in Go's poller, until the
// pipe has output or has no writer left.
func (p *pipeReader) wait() error {
	if !p.armed {
		// Arming checks readiness at once, so output that came before it is
		// not missed.
		ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLONESHOT, Fd: int32(p.fd)}
		if err := unix.EpollCtl(p.epfd(), unix.EPOLL_CTL_MOD, p.fd, &ev); err != nil {
			return err
		}
		p.armed = true
	}
	err := fdpoll.Until(p.rc, func(epfd int) (bool, error) {
		var evs [1]unix.EpollEvent
		n, err := unix.EpollWait(epfd, evs[:], 0)
		return n > 0, err
	})
	// A reported event disarmed the registration (one-shot); on an error
	// arming again is harmless.
	p.armed = false
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return os.ErrClosed
	}
	return err
}

// epfd is the private epoll descriptor.
func (p *pipeReader) epfd() int {
	var fd int
	_ = p.rc.Control(func(f uintptr) { fd = int(f) })
	return fd
}

func (p *pipeReader) sleep() {
	if p.timer == nil {
		p.timer = time.NewTimer(coalesceDelay)
	} else {
		p.timer.Reset(coalesceDelay)
	}
	select {
	case <-p.timer.C:
	case <-p.exited:
		p.timer.Stop()
	case <-p.abandon:
		p.timer.Stop()
	}
}

// Abandon makes Read return os.ErrClosed promptly, whatever is still open
// at the other end.
func (p *pipeReader) Abandon() {
	p.once.Do(func() {
		close(p.abandon)
		_ = p.ep.SetReadDeadline(time.Now())
	})
}

// Close closes both descriptors. It must be called only after the reading
// goroutine has returned.
func (p *pipeReader) Close() error {
	var err error
	p.closeOnce.Do(func() {
		err = p.ep.Close()
		if cerr := unix.Close(p.fd); err == nil {
			err = cerr
		}
	})
	return err
}
