package store

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

// How an idle SQLite worker learns that another connection (the API)
// committed, sooner than its poll timer: PRAGMA data_version, a counter
// that moves whenever another connection commits, read on a connection of
// the watch's own.
//
// On Linux the counter is read when the kernel reports a write to one of
// the database's files (inotify, through fsnotify): an idle worker wakes
// about 2 ms after the API commits and otherwise does nothing. The folder
// is watched only while armed (the caller waits with a free slot), so a
// busy worker's own writes cost no wake-ups. Elsewhere the counter is read
// every commitPollInterval while the caller wants work (about 10 ms to
// pick a run up, for 50 wake-ups a second): on macOS and the BSDs a folder
// watch (kqueue) opens every file in the folder, and closing such a
// descriptor of the database would drop this process's SQLite locks (see
// openFiles); on Windows a write to the WAL is not reliably reported at
// once.

// commitPollInterval is how often the counter is read without a folder
// watch.
const commitPollInterval = 20 * time.Millisecond

// recheckAfter are the delays, after a write that did not move the counter,
// at which it is read again. A commit writes its frames to the -wal, which
// the watch reports, and then publishes them in the -shm, which it cannot
// (that is shared memory): a read between the two sees no change, and no
// later write may come to prompt another.
var recheckAfter = []time.Duration{2 * time.Millisecond, 8 * time.Millisecond, 30 * time.Millisecond, 100 * time.Millisecond}

// errNoFolderWatch says the folder watch is not used here.
var errNoFolderWatch = errors.New("a folder watch is used on Linux only")

// CommitWatchOptions shape WatchCommits.
type CommitWatchOptions struct {
	// Wanted reports whether the caller waits for work now; the timer reads
	// the counter only then.
	Wanted func() bool
	// Notify is called after another connection committed.
	Notify func()
	// Poll reads the counter on the timer even where a folder watch would
	// be used (tests of the timer).
	Poll bool
	// Log receives the watch's own trouble; default slog.Default().
	Log *slog.Logger
}

// CommitWatch watches for other connections' commits; see WatchCommits.
type CommitWatch struct {
	s   *Store
	o   CommitWatchOptions
	arm chan struct{} // the caller's requests to watch (folder watch only)
}

// SupportsCommitWatch reports whether WatchCommits can tell this database's
// commits cheaply: a SQLite file. SQL Server has no such signal; there a
// worker polls by claiming.
func (s *Store) SupportsCommitWatch() bool { return s.dialect == SQLite && !s.InMemory() }

// WatchCommits starts watching for commits of other connections and calls
// o.Notify after each, until ctx ends; done is called when it has stopped.
// It returns nil (and calls done at once) when the database does not
// support it (SupportsCommitWatch).
func (s *Store) WatchCommits(ctx context.Context, o CommitWatchOptions, done func()) *CommitWatch {
	if !s.SupportsCommitWatch() {
		done()
		return nil
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	c := &CommitWatch{s: s, o: o}
	fw, err := c.newFolderWatch()
	if err != nil {
		if !errors.Is(err, errNoFolderWatch) {
			o.Log.Info("the database's folder cannot be watched; reading data_version on a timer instead",
				slog.String("error", err.Error()), slog.Duration("every", commitPollInterval))
		}
		go func() { defer done(); c.poll(ctx, nil) }()
		return c
	}
	c.arm = make(chan struct{}, 1)
	go func() { defer done(); c.watch(ctx, fw) }()
	return c
}

// Arm asks the watch to look for commits: the caller is about to wait with
// a free slot. It does nothing without a folder watch, or on nil.
func (c *CommitWatch) Arm() {
	if c == nil || c.arm == nil {
		return
	}
	select {
	case c.arm <- struct{}{}:
	default:
	}
}

// folderWatch reports writes to the database's files while armed.
type folderWatch struct {
	w     *fsnotify.Watcher
	dir   string
	names map[string]bool // the database file, its -wal and -journal
}

func (c *CommitWatch) newFolderWatch() (*folderWatch, error) {
	if runtime.GOOS != "linux" || c.o.Poll {
		return nil, errNoFolderWatch
	}
	path, err := filepath.Abs(c.s.target.SQLitePath)
	if err != nil {
		return nil, err
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, err
	}
	base := filepath.Base(path)
	return &folderWatch{w: w, dir: filepath.Dir(path), names: map[string]bool{base: true, base + "-wal": true, base + "-journal": true}}, nil
}

// watch serves Arm: it watches the folder, reads the counter (a commit made
// before the watch began is seen there), and then reads it again after each
// write to the database's files, and at recheckAfter after such a write,
// until it moved; it notifies and stops watching until the next request.
// Should the watch fail, it reads the counter on the timer from then on.
func (c *CommitWatch) watch(ctx context.Context, fw *folderWatch) {
	defer fw.w.Close()
	var conn *sql.Conn
	defer closeConn(&conn)
	last := int64(-1)
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.arm:
		}
		if err := fw.w.Add(fw.dir); err != nil {
			c.o.Log.Warn("watching the database's folder failed; reading data_version on a timer instead",
				slog.String("error", err.Error()), slog.Duration("every", commitPollInterval))
			c.o.Notify()
			c.poll(ctx, conn)
			return
		}
		last = c.untilCommit(ctx, fw, &conn, last)
		_ = fw.w.Remove(fw.dir)
	}
}

// untilCommit reads the counter until it differs from last (then notifies)
// or ctx ends, and returns the last value read.
func (c *CommitWatch) untilCommit(ctx context.Context, fw *folderWatch, conn **sql.Conn, last int64) int64 {
	recheck := len(recheckAfter) // no write seen yet: nothing to recheck
	for ctx.Err() == nil {
		v, err := c.dataVersion(ctx, conn)
		if err != nil || v != last {
			// A failed read leaves the caller to look for work itself.
			c.o.Notify()
			return v
		}
		var timeout time.Duration
		if recheck < len(recheckAfter) {
			timeout = recheckAfter[recheck]
			recheck++
		}
		wrote, ok := fw.waitWrite(ctx, timeout)
		if !ok {
			return v
		}
		if wrote {
			recheck = 0
		}
	}
	return last
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

// poll reads the counter every commitPollInterval while the caller wants
// work, on conn (pinned when nil, replaced after an error), and notifies
// when it moved; it closes conn when ctx ends.
func (c *CommitWatch) poll(ctx context.Context, conn *sql.Conn) {
	defer closeConn(&conn)
	var last int64 = -1
	t := time.NewTicker(commitPollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		// While the caller is busy it does not wait for new rows: reading
		// here would only add statements to every run. The last version seen
		// is kept, so a change made meanwhile still notifies once.
		if !c.o.Wanted() {
			continue
		}
		v, err := c.dataVersion(ctx, &conn)
		if err != nil {
			// The connection is replaced on the next tick.
			last = -1
			continue
		}
		if last != -1 && v != last {
			c.o.Notify()
		}
		last = v
	}
}

// dataVersion reads the counter on *conn, pinning a connection first when
// there is none. A failed read drops the connection.
func (c *CommitWatch) dataVersion(ctx context.Context, conn **sql.Conn) (int64, error) {
	if *conn == nil {
		pinned, err := c.s.db.Conn(ctx)
		if err != nil {
			return 0, err
		}
		*conn = pinned
	}
	v, err := c.s.QueriesOn(*conn).DataVersion(ctx)
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
