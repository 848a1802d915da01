package store_test

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ade-dev/ade-worker/gen/db"
	"github.com/ade-dev/ade-worker/internal/store"
	"github.com/ade-dev/ade-worker/internal/store/storetest"
)

// TestWatchCommitsSeesAnotherPoolsCommit: a watch armed on one pool is
// told, each time, of a commit made through another pool (as the API's
// own connections would make it), with the folder watch where it is used
// and with the timer; its own reads do not tell it anything.
func TestWatchCommitsSeesAnotherPoolsCommit(t *testing.T) {
	for _, poll := range []bool{false, true} {
		name := "watch"
		if poll {
			name = "timer"
		}
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "ade.sqlite")
			watched := storetest.SQLiteAt(t, path)
			other := storetest.SQLiteAt(t, path)
			ctx, cancel := context.WithCancel(context.Background())
			notified := make(chan struct{}, 1)
			stopped := make(chan struct{})
			c := watched.WatchCommits(ctx, store.CommitWatchOptions{
				Wanted: func() bool { return true },
				Notify: func() {
					select {
					case notified <- struct{}{}:
					default:
					}
				},
				Poll: poll,
			}, func() { close(stopped) })
			if c == nil {
				t.Fatal("no commit watch on a SQLite file")
			}
			defer func() { cancel(); <-stopped }()
			// The first arm may notify once: nothing was seen before.
			c.Arm()
			drain(notified, 300*time.Millisecond)
			for i := range 3 {
				c.Arm()
				if _, err := watched.Queries().CountRunsByStatus(ctx); err != nil {
					t.Fatal(err)
				}
				if drain(notified, 200*time.Millisecond) {
					t.Fatalf("round %d: notified with no commit by another pool", i+1)
				}
				start := time.Now()
				if err := other.Write(ctx, func(q *db.Queries) error {
					return q.UpsertConfiguration(ctx, db.UpsertConfigurationParams{ID: "cfg", WorkspaceID: "ws"})
				}); err != nil {
					t.Fatal(err)
				}
				if !drain(notified, 5*time.Second) {
					t.Fatalf("round %d: no notice of the other pool's commit after 5 s", i+1)
				}
				t.Logf("round %d: notified %s after the commit", i+1, time.Since(start).Round(time.Millisecond))
			}
		})
	}
}

// drain waits up to d for a notice and reports whether one came.
func drain(ch chan struct{}, d time.Duration) bool {
	select {
	case <-ch:
		return true
	case <-time.After(d):
		return false
	}
}

// TestNoCommitWatchWithoutASignal: SQL Server and an in-memory database
// have no watch; done is called at once.
func TestNoCommitWatchWithoutASignal(t *testing.T) {
	s, err := store.Open(context.Background(), "sqlite:///:memory:", store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var done atomic.Bool
	if c := s.WatchCommits(context.Background(), store.CommitWatchOptions{}, func() { done.Store(true) }); c != nil || !done.Load() || s.SupportsCommitWatch() {
		t.Fatalf("in-memory database: watch %v, done %t", c, done.Load())
	}
	var none *store.CommitWatch
	none.Arm() // nil-safe
}
