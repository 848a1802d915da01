package engine

import (
	"errors"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// An engine's output reaches the worker through a pipe, and what the pipe
// costs is paid by the engine: each write that finds the worker waiting in
// a read wakes it, and waking a thread costs the writer microseconds. The
// reference engine flushes every event, so an engine printing events as
// fast as it can would be slowed by a quarter just by being read eagerly.
//
// So the read end is a blocking descriptor, not one in Go's poller (an
// epoll registration is woken by every write, read or not), waited on with
// poll(2) only when the worker is ready to read, and a stream that is
// streaming (reads coming back to back) is left alone for coalesceDelay
// between reads, so that the engine's writes pile up in the pipe's buffer
// without waking anyone and are read many at a time. A pause ends at once
// when the process exits, so no run waits on it.
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

	// pollInterval bounds a wait for output, so a reader told to give up
	// (output held open by an escaped grandchild) notices in good time.
	pollInterval = 250 * time.Millisecond
)

// newPipe returns a pipe whose read end is blocking and close-on-exec, and
// whose write end is given to the child. size, when not 0, is the buffer to
// ask for.
func newPipe(size int) (r *pipeReader, w *os.File, err error) {
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_CLOEXEC); err != nil {
		return nil, nil, err
	}
	if size > 0 {
		// Best effort: a user over its pipe-buffer quota keeps the default.
		_, _ = unix.FcntlInt(uintptr(fds[0]), unix.F_SETPIPE_SZ, size)
	}
	return &pipeReader{fd: fds[0], abandon: make(chan struct{})}, os.NewFile(uintptr(fds[1]), "|1"), nil
}

// pipeReader reads the worker's end of an output pipe. Read is called by
// one goroutine; Abandon and Close may be called from another.
type pipeReader struct {
	fd      int
	exited  <-chan struct{} // closed when the process has exited; ends pauses
	abandon chan struct{}   // closed by Abandon

	last  time.Time // when the previous read returned
	pause bool      // pause before the next read
	timer *time.Timer

	once   sync.Once
	closed bool // set by Close, after Read has returned for good
	mu     sync.Mutex
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
	fds := []unix.PollFd{{Fd: int32(p.fd), Events: unix.POLLIN}}
	for {
		select {
		case <-p.abandon:
			return 0, os.ErrClosed
		default:
		}
		n, err := unix.Poll(fds, int(pollInterval/time.Millisecond))
		if err != nil && !errors.Is(err, unix.EINTR) {
			return 0, err
		}
		if n > 0 {
			break
		}
	}
	var n int
	var err error
	for {
		n, err = unix.Read(p.fd, b)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	switch {
	case err != nil:
		return 0, err
	case n == 0:
		return 0, io.EOF
	}
	now := time.Now()
	// A read that emptied the pipe (it did not fill b) soon after the
	// previous one: the engine is printing steadily, and the next read can
	// wait for more to gather.
	p.pause = n < len(b) && now.Sub(p.last) < hotGap
	p.last = now
	return n, nil
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

// Abandon makes Read return os.ErrClosed within pollInterval, whatever is
// still open at the other end.
func (p *pipeReader) Abandon() { p.once.Do(func() { close(p.abandon) }) }

// Close closes the descriptor. It must be called only after the reading
// goroutine has returned.
func (p *pipeReader) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	p.closed = true
	return unix.Close(p.fd)
}
