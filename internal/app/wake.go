package app

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"time"

	"github.com/ade-dev/ade-worker/internal/dbwatch"
)

// How an idle SQLite worker learns that the API queued work, sooner than
// its poll timer: PRAGMA data_version, a lock-free read of a counter that
// moves whenever another connection commits, read when the kernel reports
// a write to the database's files (inotify, package dbwatch). The folder is
// watched only while the loop waits with a free slot, so a busy worker's
// own writes cost no notification. Where inotify is not available the
// counter is read every wakeInterval instead.

// wakeInterval is how often the counter is read when inotify is not
// available.
const wakeInterval = 20 * time.Millisecond

// startWake starts the goroutine that wakes the loop on other connections'
// commits and returns at once; the goroutine ends with ctx. It reads the
// counter before returning, so a commit made after that and before the
// loop's first wait still wakes it.
func (w *Worker) startWake(ctx context.Context, done func()) {
	nw, err := dbwatch.New(w.st.Target().SQLitePath)
	if err == nil && w.wakeByPolling {
		_ = nw.Close()
		nw, err = nil, errors.New("watching is turned off")
	}
	var conn *sql.Conn
	last := int64(-1)
	if err == nil {
		if last, err = w.dataVersion(ctx, &conn); err == nil {
			err = nw.Arm()
			nw.Disarm()
		}
	}
	if err != nil {
		if nw != nil {
			_ = nw.Close()
		}
		w.log.Info("the database's folder cannot be watched; reading data_version on a timer instead",
			slog.String("error", err.Error()), slog.Duration("every", wakeInterval))
		go func() { defer done(); w.watchDataVersion(ctx, conn) }()
		return
	}
	w.armWake = make(chan struct{}, 1)
	go func() { defer done(); w.watchCommits(ctx, nw, conn, last) }()
}

// requestWake asks the wake goroutine to watch for commits: the loop is
// about to wait with a free slot.
func (w *Worker) requestWake() {
	select {
	case w.armWake <- struct{}{}:
	default:
	}
}

// watchCommits serves requestWake. For each request it watches the
// database's files and reads the counter, which catches a commit made
// before the watch began; it then waits for a write and reads the counter
// again, until the counter moved. Then it wakes the loop and stops watching
// until the next request. Should the watch fail, it falls back to reading
// the counter every wakeInterval.
func (w *Worker) watchCommits(ctx context.Context, nw *dbwatch.Watcher, conn *sql.Conn, last int64) {
	defer func() {
		_ = nw.Close()
		if conn != nil {
			_ = conn.Close()
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.armWake:
		}
		err := nw.Arm()
		for err == nil {
			v, verr := w.dataVersion(ctx, &conn)
			if verr != nil {
				// The connection is replaced on the next request; the loop
				// looks for work itself meanwhile.
				last = -1
				w.poke()
				break
			}
			if v != last {
				last = v
				w.poke()
				break
			}
			err = nw.Wait(ctx)
		}
		nw.Disarm()
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			w.log.Warn("watching the database's folder failed; reading data_version on a timer instead",
				slog.String("error", err.Error()), slog.Duration("every", wakeInterval))
			w.poke()
			c := conn
			conn = nil // the timer takes the connection over
			w.watchDataVersion(ctx, c)
			return
		}
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
		_ = (*conn).Close()
		*conn = nil
	}
	return v, err
}

// watchDataVersion wakes the loop when another connection commits, reading
// the counter every wakeInterval while a slot is free, on conn (pinned when
// nil), which it closes when ctx ends.
func (w *Worker) watchDataVersion(ctx context.Context, conn *sql.Conn) {
	defer func() {
		if conn != nil {
			_ = conn.Close()
		}
	}()
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
