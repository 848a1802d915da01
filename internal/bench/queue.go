package bench

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/ade-dev/ade-worker/gen/db"
	"github.com/ade-dev/ade-worker/internal/enqueue"
	"github.com/ade-dev/ade-worker/internal/store"
)

// The harness's side of the queue: it enqueues runs as the ADE API would,
// and watches their rows.

// enqueueBatch inserts n runs of the warm-up run's configuration and
// document in one transaction, as an API burst would, and returns their ids.
func enqueueBatch(ctx context.Context, st *store.Store, warm enqueue.Queued, engineSpec string, n int) ([]string, error) {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = uuid.NewString()
	}
	err := st.Write(ctx, func(q *db.Queries) error {
		for _, id := range ids {
			if err := q.InsertRun(ctx, db.InsertRunParams{
				ID: id, WorkspaceID: workspace, ConfigurationID: warm.ConfigurationID, InputDocumentID: warm.DocumentID,
				EngineSpec: engineSpec, DepsDigest: warm.DepsDigest, MaxAttempts: 1,
			}); err != nil {
				return fmt.Errorf("insert run: %w", err)
			}
		}
		return nil
	})
	return ids, err
}

// waitTerminal polls a run until it has succeeded or failed.
func waitTerminal(ctx context.Context, st *store.Store, w *workerProc, id string, timeout time.Duration) (db.Run, error) {
	deadline := time.Now().Add(timeout)
	for {
		r, err := st.Queries().GetRun(ctx, id)
		if err != nil {
			return r, fmt.Errorf("read run %s: %w", id, err)
		}
		if r.Status == "succeeded" || r.Status == "failed" {
			return r, nil
		}
		if !w.running() {
			return r, errors.New("the worker exited")
		}
		if time.Now().After(deadline) {
			return r, fmt.Errorf("run %s still %s after %s", id, r.Status, timeout)
		}
		if err := sleep(ctx, 10*time.Millisecond); err != nil {
			return r, err
		}
	}
}

// waitDrained polls until no run is queued or running, with two index
// seeks (never a count over the queue, which would take CPU from the worker
// being measured). The poll's pace does not matter to the figures: they
// come from the rows' own timestamps.
func waitDrained(ctx context.Context, st *store.Store, w *workerProc, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		queued, err := st.Queries().OldestQueuedRun(ctx)
		if err != nil {
			return err
		}
		running, err := st.Queries().ListRunningLeases(ctx)
		if err != nil {
			return err
		}
		if len(queued) == 0 && len(running) == 0 {
			return nil
		}
		if !w.running() {
			return errors.New("the worker exited")
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("runs still pending after %s", timeout)
		}
		if err := sleep(ctx, 250*time.Millisecond); err != nil {
			return err
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
