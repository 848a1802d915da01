package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/ade-dev/ade-worker/internal/enqueue"
	"github.com/ade-dev/ade-worker/internal/store"
)

// measureIdle measures what an idle worker costs the database, then how
// fast it picks up a run enqueued out of the blue.
func (b *bench) measureIdle(ctx context.Context) error {
	fmt.Fprintf(b.o.Progress, "bench: idle: counting statements of an idle worker for %s...\n", b.o.IdleWindow)
	if err := sleep(ctx, b.o.IdleSettle); err != nil {
		return err
	}
	m0, err := b.w.scrape(ctx)
	if err != nil {
		return err
	}
	t0 := time.Now()
	if err := sleep(ctx, b.o.IdleWindow); err != nil {
		return err
	}
	m1, err := b.w.scrape(ctx)
	if err != nil {
		return err
	}
	idle := &b.res.Idle
	idle.WindowS = round3(time.Since(t0).Seconds())
	idle.StatementsPerS = round3((m1[statementsMetric] - m0[statementsMetric]) / time.Since(t0).Seconds())
	idle.CPUPercent = round3(100 * (m1[cpuMetric] - m0[cpuMetric]) / time.Since(t0).Seconds())

	if b.o.IdleRuns > 0 {
		fmt.Fprintf(b.o.Progress, "bench: idle pickup: %d runs enqueued one at a time into an idle worker...\n", b.o.IdleRuns)
		return idlePickup(ctx, b.st, b.w, b.warm, b.engineSpec, b.o.IdleRuns, idle)
	}
	return nil
}

// idlePickup enqueues runs one at a time, each after a random pause of
// 0.5-1.5 s with the worker idle, and measures queued -> running.
func idlePickup(ctx context.Context, st *store.Store, w *workerProc, warm enqueue.Queued, engineSpec string, n int, out *IdleResult) error {
	var pickup, e2e []time.Duration
	for range n {
		if err := sleep(ctx, 500*time.Millisecond+rand.N(time.Second)); err != nil {
			return err
		}
		ids, err := enqueueBatch(ctx, st, warm, engineSpec, 1)
		if err != nil {
			return err
		}
		r, err := waitTerminal(ctx, st, w, ids[0], 2*time.Minute)
		if err != nil {
			return fmt.Errorf("idle pickup: %w", err)
		}
		if !r.StartedAt.Valid || !r.CompletedAt.Valid {
			return fmt.Errorf("idle pickup: run %s ended %s without being started (%s)", r.ID, r.Status, r.ErrorMessage.String)
		}
		pickup = append(pickup, r.StartedAt.Time.Sub(r.CreatedAt.Time))
		e2e = append(e2e, r.CompletedAt.Time.Sub(r.CreatedAt.Time))
	}
	out.Runs = n
	out.Pickup = distOf(pickup)
	out.EndToEnd = distOf(e2e)
	return nil
}
