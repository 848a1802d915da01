// Package dbwatch tells when another process may have committed to a SQLite
// database, without reading the database: a commit writes the database's
// files (the -wal file in WAL mode, the database file itself in the rollback
// journal modes), and the kernel reports those writes through inotify.
//
// Arm starts watching and Disarm stops: a worker arms only while it waits
// for work, so that while it is busy its own writes cost the kernel no
// notification. A write is only a hint: the caller confirms with PRAGMA
// data_version that another connection committed.
//
// inotify sees writes made on this host, which is every writer SQLite's WAL
// mode allows (its shared memory is host-local).
package dbwatch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/ade-dev/ade-worker/internal/fdpoll"
)

// events are what a commit by another process does to the files: it
// writes them (IN_MODIFY), or makes a -wal or -journal file anew
// (IN_CREATE, IN_MOVED_TO).
const events = unix.IN_MODIFY | unix.IN_CREATE | unix.IN_MOVED_TO | unix.IN_ONLYDIR

// ErrFolderGone is returned by Wait when the database's folder was removed
// or unmounted: nothing can be watched there any more.
var ErrFolderGone = errors.New("the database folder is no longer watched (removed or unmounted)")

// Watcher watches the folder of one database file for writes to that
// database's files. It is used by one goroutine at a time.
type Watcher struct {
	dir  string
	base string // the database file's name; its -wal and -journal share it
	f    *os.File
	rc   syscall.RawConn
	buf  []byte
	wd   int // the folder's watch while armed, else -1
}

// New watches the database file at path. It fails where inotify is not
// available (or the per-user limit of instances is reached); the caller
// then polls.
func New(path string) (*Watcher, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("inotify: %w", err)
	}
	// Non-blocking, so that os.NewFile puts it in Go's poller: a Wait
	// parks its goroutine, not a thread.
	f := os.NewFile(uintptr(fd), "inotify")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, err
	}
	return &Watcher{
		dir: filepath.Dir(abs), base: filepath.Base(abs), f: f, rc: rc,
		buf: make([]byte, 16*(unix.SizeofInotifyEvent+unix.NAME_MAX+1)), wd: -1,
	}, nil
}

// Arm starts watching, if not watching already. Writes made before Arm are
// not reported: a caller that must not miss a commit arms first and then
// reads data_version. Events left from an earlier watch are passed over:
// each watch has a descriptor of its own.
func (w *Watcher) Arm() error {
	if w.wd >= 0 {
		return nil
	}
	var err error
	cerr := w.rc.Control(func(fd uintptr) {
		if w.wd, err = unix.InotifyAddWatch(int(fd), w.dir, events); err != nil {
			w.wd = -1
		}
	})
	if cerr != nil {
		return cerr
	}
	if err != nil {
		return fmt.Errorf("watch %s: %w", w.dir, err)
	}
	return nil
}

// Disarm stops watching.
func (w *Watcher) Disarm() {
	if w.wd < 0 {
		return
	}
	_ = w.rc.Control(func(fd uintptr) { _, _ = unix.InotifyRmWatch(int(fd), uint32(w.wd)) })
	w.wd = -1
}

// Wait returns nil once a file of the database was written (or made) while
// armed, or the context's error when ctx ends first. Writes to other files
// of the folder are passed over. It returns at once when not armed.
func (w *Watcher) Wait(ctx context.Context) error {
	if w.wd < 0 {
		return nil
	}
	stop := context.AfterFunc(ctx, func() { _ = w.f.SetReadDeadline(time.Now()) })
	defer func() {
		if !stop() {
			// The deadline was set: clear it for the next Wait.
			_ = w.f.SetReadDeadline(time.Time{})
		}
	}()
	for {
		var n int
		err := fdpoll.Until(w.rc, func(fd int) (bool, error) {
			var err error
			n, err = unix.Read(fd, w.buf)
			if errors.Is(err, unix.EAGAIN) {
				return false, nil
			}
			return true, err
		})
		switch {
		case errors.Is(err, os.ErrDeadlineExceeded):
			return ctx.Err()
		case err != nil:
			return fmt.Errorf("read inotify events: %w", err)
		}
		ours, gone := w.scan(w.buf[:n])
		if gone {
			w.wd = -1
			return ErrFolderGone
		}
		if ours {
			return nil
		}
	}
}

// scan reads a buffer of events. ours: one was about the database's files
// (or the queue overflowed, and one may have been). gone: the current
// watch ended without Disarm.
func (w *Watcher) scan(b []byte) (ours, gone bool) {
	for len(b) >= unix.SizeofInotifyEvent {
		ev := (*unix.InotifyEvent)(unsafe.Pointer(&b[0]))
		size := unix.SizeofInotifyEvent + int(ev.Len)
		if size > len(b) {
			break
		}
		name := string(bytes.TrimRight(b[unix.SizeofInotifyEvent:size], "\x00"))
		b = b[size:]
		switch {
		case ev.Mask&unix.IN_Q_OVERFLOW != 0:
			ours = true
		case ev.Mask&unix.IN_IGNORED != 0:
			// A watch Disarm removed leaves this behind; only the
			// current one ending means the folder is gone.
			if int(ev.Wd) == w.wd {
				gone = true
			}
		case int(ev.Wd) == w.wd && w.isOurs(name):
			ours = true
		}
	}
	return ours, gone
}

// isOurs reports whether name is the database file or one SQLite keeps
// beside it (-wal, -journal; -shm is written through shared memory and
// reports nothing).
func (w *Watcher) isOurs(name string) bool {
	rest, ok := strings.CutPrefix(name, w.base)
	return ok && (rest == "" || rest == "-wal" || rest == "-journal")
}

// Close releases the inotify instance.
func (w *Watcher) Close() error { return w.f.Close() }
