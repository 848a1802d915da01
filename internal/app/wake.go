package app

import (
	"context"
	"database/sql"
	"time"
)

// How an idle SQLite worker learns that the API queued work, sooner than
// its poll timer: PRAGMA data_version, a counter that moves whenever another
// connection commits, read every wakeInterval on a connection of its own
// while a slot is free. The read takes no lock that a writer waits for and
// touches no file but through SQLite, on every operating system.
//
// A file-system watch would tell sooner, but not everywhere safely: on
// macOS and the BSDs a watch of the database's folder (kqueue) opens every
// file in it, and closing such a descriptor of the database drops this
// process's SQLite locks (see store.openFiles). At 50 reads a second an
// idle worker picks a run up in about 10 ms, for a few hundred microseconds
// of CPU a second (docs/performance.md).

// wakeInterval is how often the counter is read while a slot is free.
const wakeInterval = 20 * time.Millisecond

// watchDataVersion wakes the loop when another connection commits, reading
// the counter every wakeInterval while a slot is free, on a connection it
// pins (and replaces after an error) and closes when ctx ends.
func (w *Worker) watchDataVersion(ctx context.Context) {
	var conn *sql.Conn
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
