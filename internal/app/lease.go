package app

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// keepLease heartbeats a claim every lease/3 until the returned stop is
// called or ctx is done. A heartbeat that changes no row means the claim is
// gone: cancel is called with errLeaseLost at once, so the job stops its
// subprocess and writes nothing more. A heartbeat that fails with an error
// is retried at the next tick;
// if none succeeds before the lease would run out, the job is stopped the
// same way, since another worker may by then have taken the claim over:
// nothing ever runs twice at once.
//
// No goroutine waits between heartbeats: a timer starts each one, so a job
// shorter than lease/3 costs a timer and nothing else.
func (w *Worker) keepLease(ctx context.Context, cancel context.CancelCauseFunc, log *slog.Logger, kind string, claimedAt time.Time, beat func(context.Context) (int64, error)) (stop func()) {
	every := w.cfg.Lease / 3
	deadline := claimedAt.Add(w.cfg.Lease)
	var (
		mu      sync.Mutex
		stopped bool
		t       *time.Timer
	)
	// heartbeat runs on the timer's goroutine, one at a time: the timer is
	// set again only once a heartbeat has ended.
	heartbeat := func() {
		if ctx.Err() != nil {
			return
		}
		sent := time.Now()
		hctx, hcancel := context.WithTimeout(ctx, every)
		n, err := beat(hctx)
		hcancel()
		if ctx.Err() != nil {
			return
		}
		switch {
		case err != nil:
			w.metrics.HeartbeatErrors.Inc()
			log.Warn("heartbeat failed", slog.String("error", err.Error()), slog.Time("lease_until", deadline))
			// Stop a safety margin before the lease ends: the sweep of
			// another worker may requeue the claim right after it.
			if time.Until(deadline) < every/2 {
				log.Error("lease could not be renewed before it ran out; stopping the job")
				w.metrics.LostClaims.WithLabelValues(kind).Inc()
				cancel(errLeaseLost)
				return
			}
		case n == 0:
			log.Warn("claim lost: another worker or a sweep took it; stopping without writing")
			w.metrics.LostClaims.WithLabelValues(kind).Inc()
			cancel(errLeaseLost)
			return
		default:
			deadline = sent.Add(w.cfg.Lease)
		}
		mu.Lock()
		if !stopped {
			t.Reset(every)
		}
		mu.Unlock()
	}
	mu.Lock()
	t = time.AfterFunc(every, heartbeat)
	mu.Unlock()
	return func() {
		mu.Lock()
		stopped = true
		t.Stop()
		mu.Unlock()
	}
}
