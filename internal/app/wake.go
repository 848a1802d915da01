package app

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"path/filepath"
	"runtime"
	"time"

	"github.com/fsnotify/fsnotify"
)

// How an idle SQLite worker learns that the API queued work, sooner than
// its poll timer: PRAGMA data_version, a counter that moves whenever
// another connection commits, read on a connection of the waker's own.
//
// On Linux the counter is read when the kernel reports a write to one of
// the database's files (inotify, through fsnotify): an idle worker wakes
// about 2 ms after the API commits and otherwise does nothing. The folder
// is watched only while the loop waits with a free slot, so a busy
// worker's own writes cost no wake-ups. Elsewhere the counter is read every
// wakeInterval while a slot is free (about 10 ms to pick a run up, for
// 50 wake-ups a second): on macOS and the BSDs a folder watch (kqueue)
// opens every file in the folder, and closing such a descriptor of the
// database would drop this process's SQLite locks (see store.openFiles);
// on Windows a write to the WAL is not reliably reported at once.

// wakeInterval is how often the counter is read without a folder watch.
const wakeInterval = 20 * time.Millisecond

// recheckAfter are the delays, after a write that did not move the counter,
// at which it is read again. A commit writes its frames to the -wal, which
// the watch reports, and then publishes them in the -shm, which it cannot
// (that is shared memory): a read between the two sees no change, and no
// later write may come to prompt another.
var recheckAfter = []time.Duration{2 * time.Millisecond, 8 * time.Millisecond, 30 * time.Millisecond, 100 * time.Millisecond}

// errNoWatch says the folder watch is not used on this system.
var errNoWatch = errors.New("a folder watch is used on Linux only")

// startWake starts the goroutine that wakes the loop on other connections'
// commits and returns at once; the goroutine ends with ctx.
func (w *Worker) startWake(ctx context.Context, done func()) {
	fw, err := w.newFolderWatch()
	if err != nil {
		if !errors.Is(err, errNoWatch) {
			w.log.Info("the database's folder cannot be watched; reading data_version on a timer instead",
				slog.String("error", err.Error()), slog.Duration("every", wakeInterval))
		}
		go func() { defer done(); w.watchDataVersion(ctx) }()
		return
	}
	w.armWake = make(chan struct{}, 1)
	go func() { defer done(); w.watchCommits(ctx, fw) }()
}

// folderWatch reports writes to the database's files while armed.
type folderWatch struct {
	w     *fsnotify.Watcher
	dir   string
	names map[string]bool // the database file, its -wal and -journal
}

func (w *Worker) newFolderWatch() (*folderWatch, error) {
	if runtime.GOOS != "linux" || w.wakeByPolling {
		return nil, errNoWatch
	}
	path, err := filepath.Abs(w.st.Target().SQLitePath)
	if err != nil {
		return nil, err
	}
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, err
	}
	base := filepath.Base(path)
	return &folderWatch{w: fw, dir: filepath.Dir(path), names: map[string]bool{base: true, base + "-wal": true, base + "-journal": true}}, nil
}

// requestWake asks the wake goroutine to watch for commits: the loop is
// about to wait with a free slot. Without a folder watch it does nothing.
func (w *Worker) requestWake() {
	if w.armWake == nil {
		return
	}
	select {
	case w.armWake <- struct{}{}:
	default:
	}
}

// watchCommits serves requestWake: it watches the folder, reads the counter
// (a commit made before the watch began is seen there), and then reads it
// again after each write to the database's files until it moved; it wakes
// the loop and stops watching until the next request. Should the watch
// fail, it reads the counter on the timer from then on.
func (w *Worker) watchCommits(ctx context.Context, fw *folderWatch) {
	defer fw.w.Close()
	var conn *sql.Conn
	defer closeConn(&conn)
	last := int64(-1)
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.armWake:
		}
		if err := fw.w.Add(fw.dir); err != nil {
			w.log.Warn("watching the database's folder failed; reading data_version on a timer instead",
				slog.String("error", err.Error()), slog.Duration("every", wakeInterval))
			w.poke()
			closeConn(&conn)
			w.watchDataVersion(ctx)
			return
		}
		recheck := len(recheckAfter) // no write seen yet: nothing to recheck
		for ctx.Err() == nil {
			v, err := w.dataVersion(ctx, &conn)
			if err != nil || v != last {
				// A failed read leaves the loop to look for work itself.
				last = v
				w.poke()
				break
			}
			var wrote, ok bool
			if recheck < len(recheckAfter) {
				wrote, ok = fw.waitWrite(ctx, recheckAfter[recheck])
				recheck++
			} else {
				wrote, ok = fw.waitWrite(ctx, 0)
			}
			if !ok {
				break
			}
			if wrote {
				recheck = 0
			}
		}
		_ = fw.w.Remove(fw.dir)
	}
}

// waitWrite waits for a write to one of the database's files (wrote), or
// for timeout when it is not 0. ok is false when ctx ended or the watch
// closed; an error of the watch (an overflowed queue lost events) counts
// as a write.
func (fw *folderWatch) waitWrite(ctx context.Context, timeout time.Duration) (wrote, ok bool) {
	var expired <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		expired = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return false, false
		case <-expired:
			return false, true
		case ev, open := <-fw.w.Events:
			if !open {
				return false, false
			}
			if fw.names[filepath.Base(ev.Name)] && ev.Has(fsnotify.Write|fsnotify.Create) {
				return true, true
			}
		case _, open := <-fw.w.Errors:
			return open, open
		}
	}
}

// watchDataVersion wakes the loop when another connection commits, reading
// the counter every wakeInterval while a slot is free, on a connection it
// pins (and replaces after an error) and closes when ctx ends.
func (w *Worker) watchDataVersion(ctx context.Context) {
	var conn *sql.Conn
	defer closeConn(&conn)
	var last int64 = -1
	t := time.NewTicker(wakeInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		// While every slot is busy the loop waits for a slot, not for new
		// rows, and claims as soon as one frees: reading here would only add
		// statements to every run. The last version seen is kept, so a change
		// made meanwhile still wakes the loop once.
		if w.freeSlots() == 0 {
			continue
		}
		v, err := w.dataVersion(ctx, &conn)
		if err != nil {
			// The connection is replaced on the next tick.
			last = -1
			continue
		}
		if last != -1 && v != last {
			w.poke()
		}
		last = v
	}
}

// dataVersion reads the counter on *conn, pinning a connection first when
// there is none. A failed read drops the connection.
func (w *Worker) dataVersion(ctx context.Context, conn **sql.Conn) (int64, error) {
	if *conn == nil {
		c, err := w.st.DB().Conn(ctx)
		if err != nil {
			return 0, err
		}
		*conn = c
	}
	v, err := w.st.QueriesOn(*conn).DataVersion(ctx)
	if err != nil {
		closeConn(conn)
	}
	return v, err
}

// closeConn closes *conn, if any.
func closeConn(conn **sql.Conn) {
	if *conn != nil {
		_ = (*conn).Close()
		*conn = nil
	}
}
