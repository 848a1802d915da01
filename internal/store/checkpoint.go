package store

import (
	"context"
	"database/sql"
	_ "embed"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// A SQLite database in WAL mode copies its write-ahead log back into the
// database file in checkpoints. By default the connection whose commit takes
// the log past 1,000 pages runs one inside that commit, fsyncs included,
// and every other writer of this process waits behind it. Here a goroutine
// runs them instead, beside the write path, and the connections' own
// automatic checkpoint is only a backstop at walBackstopPages.
//
// A passive checkpoint copies what it can while writers keep appending. The
// log starts over from its beginning only when a write begins after a
// checkpoint has copied all of it and no reader still reads the log, which
// a checkpoint running beside busy writers rarely achieves. So once the log
// holds walRestartPages frames, a RESTART checkpoint follows the passive
// one, holding this process's write lock: it copies what was appended
// meanwhile and waits (restartBusyWait at most) for the readers still in
// the log, so that the next write starts it over. The log of a busy worker
// stays at a few thousand pages instead of growing for as long as the load
// lasts. Should a reader outlast the wait, the log grows until a later try
// (they back off from one second to thirty while readers keep them busy,
// so a long read holds this process's writers for restartBusyWait only now
// and then), and at most to the backstop.
const (
	// walBackstopPages is the connections' wal_autocheckpoint: a commit
	// that finds the log this long checkpoints inline, as SQLite does by
	// default, should the background checkpoints fall behind.
	walBackstopPages = 8000
	// walRestartPages is the log length past which a checkpoint finishes
	// under the write lock so that the log starts over: 16 MB. At 1,000
	// pages (SQLite's own checkpoint length) the log stayed under half the
	// size but the database path ran 4-7% slower.
	walRestartPages = 4000
	// checkpointCommits and checkpointIdle say when to checkpoint: after
	// this many commits, or this long after the first commit not yet
	// checkpointed.
	checkpointCommits = 64
	checkpointIdle    = time.Second
	// restartBusyWait is the checkpoint connection's busy_timeout: how long
	// the RESTART checkpoint waits for other processes' writers and for
	// readers of the log, while this process's writers wait for it.
	restartBusyWait = 200 * time.Millisecond
	// minRestartBackoff and maxRestartBackoff bound the pause between
	// RESTART checkpoints that readers keep from finishing, so a long read
	// holds this process's writers for restartBusyWait only now and then.
	minRestartBackoff = time.Second
	maxRestartBackoff = 30 * time.Second
)

var (
	//go:embed wal_checkpoint_passive_sqlite.sql
	walCheckpointPassive string
	//go:embed wal_checkpoint_restart_sqlite.sql
	walCheckpointRestart string
)

// checkpointer runs a SQLite store's WAL checkpoints in the background.
type checkpointer struct {
	s  *Store
	db *sql.DB // one connection, busy_timeout restartBusyWait
	// everyCommits, restartPages and minBackoff are checkpointCommits,
	// walRestartPages and minRestartBackoff (tests lower them).
	everyCommits, restartPages int64
	minBackoff                 time.Duration
	commits                    atomic.Int64 // commits since the last checkpoint
	kick                       chan struct{}
	stop                       chan struct{}
	done                       sync.WaitGroup
	// runs, restarts and blocked count checkpoints, those run under the
	// write lock, and those of them a reader kept from finishing, for tests
	// and benchmarks.
	runs, restarts, blocked atomic.Int64
	restarted               atomic.Int64 // RESTART checkpoints that finished
	// backoff and restartAfter pace RESTART checkpoints after a busy one
	// (the loop's goroutine only).
	backoff      time.Duration
	restartAfter time.Time
}

func newCheckpointer(s *Store, db *sql.DB) *checkpointer {
	c := &checkpointer{s: s, db: db, everyCommits: checkpointCommits, restartPages: walRestartPages, minBackoff: minRestartBackoff,
		kick: make(chan struct{}, 1), stop: make(chan struct{})}
	c.done.Add(1)
	go c.loop()
	return c
}

// committed notes one commit of this process.
func (c *checkpointer) committed() {
	if c == nil {
		return
	}
	if c.commits.Add(1) >= c.everyCommits {
		select {
		case c.kick <- struct{}{}:
		default:
		}
	}
}

func (c *checkpointer) close() {
	if c == nil {
		return
	}
	close(c.stop)
	c.done.Wait()
	_ = c.db.Close()
}

func (c *checkpointer) loop() {
	defer c.done.Done()
	t := time.NewTicker(checkpointIdle)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-c.kick:
		case <-t.C:
			if c.commits.Load() == 0 {
				continue
			}
		}
		c.commits.Store(0)
		if err := c.checkpoint(); err != nil {
			// The backstop checkpoints inline meanwhile; nothing is lost.
			slog.Warn("background WAL checkpoint failed", slog.String("error", err.Error()))
		}
	}
}

// checkpoint runs one passive checkpoint and, when the log is long, a
// RESTART one under the write lock so that the log starts over. A RESTART
// that a reader kept from finishing (it waited restartBusyWait, holding
// this process's writers) is not tried again before restartBackoff, which
// doubles up to maxRestartBackoff while readers keep it busy.
func (c *checkpointer) checkpoint() error {
	// Copying all it found does not mean the log is done with: writers
	// went on appending while it copied.
	logged, _, err := c.run(walCheckpointPassive)
	if err != nil || logged < c.restartPages || time.Now().Before(c.restartAfter) {
		return err
	}
	c.s.writeMu.Lock()
	defer c.s.writeMu.Unlock()
	c.restarts.Add(1)
	_, busy, err := c.run(walCheckpointRestart)
	switch {
	case err != nil:
	case busy:
		c.blocked.Add(1)
		c.backoff = min(max(2*c.backoff, c.minBackoff), maxRestartBackoff)
		c.restartAfter = time.Now().Add(c.backoff)
	default:
		c.backoff = 0
		c.restarted.Add(1)
	}
	return err
}

// run runs one checkpoint statement and returns the frames the log held
// and whether it reported busy.
func (c *checkpointer) run(stmt string) (logged int64, busy bool, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var busyFlag, copied int64
	c.s.counter.Add(1)
	if err := c.db.QueryRowContext(ctx, stmt).Scan(&busyFlag, &logged, &copied); err != nil {
		return 0, false, fmt.Errorf("wal_checkpoint: %w", err)
	}
	c.runs.Add(1)
	return logged, busyFlag != 0, nil
}
