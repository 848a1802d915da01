package app_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/ade-dev/ade-worker/gen/db"
	"github.com/ade-dev/ade-worker/internal/app"
	"github.com/ade-dev/ade-worker/internal/enqueue"
	"github.com/ade-dev/ade-worker/internal/store"
	"github.com/ade-dev/ade-worker/internal/store/storetest"
)

// TestIdleWorkerWakesOnAnotherProcessCommit queues runs, one at a time,
// through a connection pool of their own (as the API does) into an idle
// worker whose poll timer is 30 s: only the wake-up on the other pool's
// commit can start them in time. Each pickup must come within 2 s, and the
// worker must stay awake to it run after run, with the folder watch (on
// Linux) and with the timer alike.
func TestIdleWorkerWakesOnAnotherProcessCommit(t *testing.T) {
	t.Parallel()
	for _, polling := range []bool{false, true} {
		name := "watch"
		if polling {
			name = "timer"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "db", "ade.sqlite")
			st := storetest.SQLiteAt(t, path)
			api := storetest.SQLiteAt(t, path)
			h := newHarness(t, st, "ADE_WORKER_POLL_INTERVAL=30", "ADE_WORKER_POLL_INTERVAL_MAX=30")
			dry := func(r *enqueue.Request) { r.Options = `{"dry_run": true}` }
			first := h.enqueue("members.csv", dry)
			h.readyEnvironment(h.fakeEngine("engine", fakeSucceed))
			w := h.worker()
			if polling {
				app.WakeByPolling(w)
			}
			h.start(w)
			h.waitRun(first.RunID, "the first run done", func(r db.Run) bool { return r.Status == "succeeded" })

			for i := range 3 {
				// Long enough for the loop to be waiting on its 30 s timer.
				time.Sleep(300 * time.Millisecond)
				e := enqueueVia(t, api, h, dry)
				run := h.waitRun(e.RunID, "a run queued into an idle worker done", func(r db.Run) bool { return r.Status == "succeeded" })
				pickup := run.StartedAt.Time.Time.Sub(run.CreatedAt.Time)
				if pickup > 2*time.Second {
					t.Fatalf("run %d: picked up %s after it was queued; want the commit to wake the worker", i+1, pickup)
				}
			}
		})
	}
}

// enqueueVia queues a run as h.enqueue does, through st.
func enqueueVia(t *testing.T, st *store.Store, h *harness, mod func(*enqueue.Request)) enqueue.Queued {
	t.Helper()
	req := enqueue.Request{
		WorkspaceID: workspaceID,
		ConfigDir:   filepath.Join(repoRoot, "examples", "config-package"),
		InputFile:   filepath.Join(repoRoot, "examples", "inputs", "members.csv"),
	}
	mod(&req)
	e, err := enqueue.Insert(context.Background(), st, h.layout, enqueue.Request{EngineSpec: engineSpec, MaxAttempts: 3}, req)
	if err != nil {
		t.Fatalf("enqueue: %v", err)
	}
	return e
}
