package app

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// jobFrame is what the skeleton of every job needs to know of it: a run's
// processing and an environment's build share that skeleton.
type jobFrame struct {
	// kind is "run" or "environment"; key names the claimed row for the
	// job tracker ("run:<id>").
	kind, key string
	log       *slog.Logger
	// claimedAt is when the claim was sent: the lease counts from it.
	claimedAt time.Time
	// heartbeat extends the claim's lease; zero rows means it is lost.
	heartbeat func(context.Context) (int64, error)
}

// runFrame runs body as a job: under a context whose cause says why it
// ended (errLeaseLost, errShutdown), with heartbeats from the start (an
// earlier job of the same row may take a moment to stop, and the new claim
// must not lapse meanwhile), and with any earlier job of the same row
// stopped first (see jobTracker).
func (w *Worker) runFrame(parent context.Context, f jobFrame, body func(ctx context.Context)) {
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)
	defer w.keepLease(ctx, cancel, f.log, f.kind, f.claimedAt, f.heartbeat)()
	defer w.jobs.begin(f.key, cancel, f.log)()
	body(ctx)
}

// guarded runs work and returns its result, or, should it panic, logs the
// panic and returns what onPanic makes of it: a panic in one job fails that
// job and reaches neither the loop nor the other jobs.
func guarded[T any](log *slog.Logger, work func() T, onPanic func(p any) T) (out T) {
	defer func() {
		if p := recover(); p != nil {
			log.Error("job panicked; the worker keeps running", slog.Any("panic", p))
			out = onPanic(p)
		}
	}()
	return work()
}

// settle writes a job's outcome once its work is done: nothing when the
// claim was lost (lost reports it), else write runs with a context of its
// own, bounded by a lease (the job's own may be cancelled by a shutdown,
// and the outcome must still go out), and the cause the job's context
// ended with (nil, or errShutdown).
func (w *Worker) settle(ctx context.Context, lost func(), write func(actx context.Context, cause error)) {
	cause := context.Cause(ctx)
	if errors.Is(cause, errLeaseLost) {
		lost()
		return
	}
	actx, cancel := w.ackContext()
	defer cancel()
	write(actx, cause)
}
