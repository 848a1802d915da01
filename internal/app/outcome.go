package app

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/ade-dev/ade-worker/gen/db"
	"github.com/ade-dev/ade-worker/internal/eventlog"
	"github.com/ade-dev/ade-worker/internal/store"
)

// finishRun writes the attempt's outcome, fenced on the claim, retrying
// transient errors within a lease (see ackContext), and records
// run.complete/run.retry.
func (w *Worker) finishRun(ctx context.Context, run claimedRun, out runOutcome, ev *eventlog.Log, log *slog.Logger, wall time.Duration) {
	lost := func() {
		w.metrics.RunsFinished.WithLabelValues("lost").Inc()
		ev.Emit("warning", "run.lost", "claim lost; this worker stopped the engine and wrote nothing", nil)
		log.Warn("run abandoned: claim lost")
	}
	w.settle(ctx, lost, func(actx context.Context, cause error) {
		switch {
		case out.kind == outcomeDeferred:
			w.deferRun(actx, run, out, ev, log)
		case out.kind == outcomeEnvironmentGone, out.kind == outcomeStopped && errors.Is(cause, errShutdown):
			// A shutdown gives the run back only when it interrupted the
			// attempt: an engine that ended by itself (its output may have
			// stayed open past the grace) has an outcome to record, and a
			// release would run it again.
			w.releaseRun(actx, run, out, ev, log)
		case out.kind == outcomeSucceeded:
			w.recordSuccess(actx, run, out, ev, log, wall)
		default:
			w.recordFailure(actx, run, out, ev, log, wall)
		}
	})
}

// releaseRun gives the run back without spending its attempt (shutdown,
// or an environment that turned out unusable, which is requeued too).
func (w *Worker) releaseRun(actx context.Context, run claimedRun, out runOutcome, ev *eventlog.Log, log *slog.Logger) {
	release := func(q *db.Queries) (int64, error) {
		// The run first, then its environment: every transaction locks
		// runs before environments, so none can deadlock with a claim.
		n, err := q.ReleaseRun(actx, db.ReleaseRunParams{Now: w.dbNow(), ID: run.ID, WorkerID: nsv(w.cfg.WorkerID), AttemptCount: run.AttemptCount})
		if err != nil || n == 0 || out.kind != outcomeEnvironmentGone {
			return n, err
		}
		// Fenced on the environment as this run saw it: a run releasing
		// after another run's requeue and the rebuild leaves it alone.
		if _, err := q.RequeueEnvironment(actx, db.RequeueEnvironmentParams{ErrorMessage: nullStr(out.err), Now: w.dbNow(),
			ID: run.Env.ID, SeenUpdatedAt: run.Env.UpdatedAt}); err != nil {
			return 0, err
		}
		return n, nil
	}
	// A release that requeues the environment locks an environment, so
	// it goes alone (see ackBatcher); a plain release is batched.
	var n int64
	var err error
	if out.kind == outcomeEnvironmentGone {
		n, err = w.ackAlone(actx, log, release)
	} else {
		n, err = w.ackRun(actx, log, 0, release)
	}
	if !w.afterAck(run.ID, n, err, "released", log) {
		// The claim was gone (or the write failed): nothing was released.
		return
	}
	reason := "worker shutting down"
	if out.kind == outcomeEnvironmentGone {
		reason = out.err
	}
	ev.Emit("info", "run.released", "run released without spending its attempt", map[string]any{"reason": reason})
	log.Info("run released without spending its attempt", slog.String("reason", reason))
}

// executionTimes are the times of run.complete's "execution".
func executionTimes(out runOutcome, wall time.Duration) map[string]any {
	// engine_wall_us keeps the precision a short engine's time needs (the
	// bench subtracts it from the run's wall time).
	return map[string]any{"wall_ms": wall.Milliseconds(), "engine_wall_ms": out.engineWall.Milliseconds(),
		"engine_wall_us": out.engineWall.Microseconds(), "engine_cpu_ms": out.engineCPU.Milliseconds()}
}

// recordSuccess writes a succeeded run with its results. A part of the
// outcome the database refuses for good (a constraint, a value too long, a
// conversion: an error no retry mends) is left out and the write tried
// again without it, each at most once: first the results table that failed,
// then the output path; the run then succeeds with error_message saying
// what was not stored, and a run.results_dropped event. When even the bare
// run row is refused, the run fails for good with the reason.
func (w *Worker) recordSuccess(actx context.Context, run claimedRun, out runOutcome, ev *eventlog.Log, log *slog.Logger, wall time.Duration) {
	res, encErr := store.EncodeRunResults(run.ID, out.summary)
	if encErr != nil {
		res, out.err = store.RunResults{}, fmt.Sprintf("results not stored: encode: %v", encErr)
	}
	n, err := w.ackRun(actx, log, res.Rows(), w.succeededAck(actx, run, out, res))
	var dropped []string
	for err != nil && store.IsPermanent(err) {
		what, ok := res.Drop(err)
		if !ok && out.outputPath != "" {
			what, out.outputPath, ok = "output_path", "", true
		}
		if !ok {
			w.failForGood(actx, run, out, fmt.Sprintf("the outcome could not be stored: %v", err), ev, log, wall)
			return
		}
		dropped = append(dropped, fmt.Sprintf("%s (%v)", what, err))
		out.err = "succeeded, but not stored: " + strings.Join(dropped, "; ")
		ev.Emit("warning", "run.results_dropped", "the database refused part of the outcome; it is not stored",
			map[string]any{"dropped": what, "error": err.Error()})
		log.Warn("the database refused part of the outcome for good; storing the rest", slog.String("dropped", what), slog.String("error", err.Error()))
		n, err = w.ackAlone(actx, log, w.succeededAck(actx, run, out, res))
	}
	if !w.afterAck(run.ID, n, err, "succeeded", log) {
		return
	}
	w.metrics.RunDuration.WithLabelValues("succeeded").Observe(wall.Seconds())
	var errValue any
	if out.err != "" {
		errValue = out.err
	}
	ev.Emit("info", "run.complete", "run succeeded", map[string]any{
		"status": "succeeded", "exit_code": out.exitCode, "output_path": out.outputPath, "execution": executionTimes(out, wall), "error": errValue,
	})
	log.Info("run succeeded", slog.Duration("wall", wall), slog.String("output_path", out.outputPath))
}

// failForGood fails a run whose outcome the database refused, with reason,
// without retrying it.
func (w *Worker) failForGood(actx context.Context, run claimedRun, out runOutcome, reason string, ev *eventlog.Log, log *slog.Logger, wall time.Duration) {
	out.kind, out.err = outcomeFailed, reason
	w.recordFailure(actx, run, out, ev, log, wall)
}

// recordFailure writes a failed attempt: back to the queue after backoff
// while attempts remain and the failure is retryable, else failed.
func (w *Worker) recordFailure(actx context.Context, run claimedRun, out runOutcome, ev *eventlog.Log, log *slog.Logger, wall time.Duration) {
	var row db.FailRunRow
	n, err := w.ackRun(actx, log, 0, func(q *db.Queries) (int64, error) {
		r, err := q.FailRun(actx, db.FailRunParams{
			Retryable: out.kind == outcomeRetryable, Now: w.dbNow(),
			BackoffMaxSeconds: w.cfg.BackoffMax.Seconds(), BackoffBaseSeconds: w.cfg.BackoffBase.Seconds(),
			ExitCode: out.exitParam(), ErrorMessage: nullStr(out.err), ID: run.ID, WorkerID: nsv(w.cfg.WorkerID),
			AttemptCount: run.AttemptCount,
		})
		if errors.Is(err, sql.ErrNoRows) {
			return 0, nil
		}
		row = r
		return 1, err
	})
	outcome := "failed"
	if row.Status == "queued" {
		outcome = "retried"
	}
	if !w.afterAck(run.ID, n, err, outcome, log) {
		return
	}
	w.metrics.RunDuration.WithLabelValues(outcome).Observe(wall.Seconds())
	if outcome == "retried" {
		ev.Emit("warning", "run.retry", "run failed; it will be retried", map[string]any{
			"attempt": row.AttemptCount, "max_attempts": row.MaxAttempts, "available_at": row.AvailableAt.String(),
			"exit_code": out.exitCode, "error": out.err,
		})
		log.Warn("run failed; retrying later", slog.String("error", out.err), slog.String("available_at", row.AvailableAt.String()))
		return
	}
	ev.Emit("error", "run.complete", "run failed", map[string]any{
		"status": "failed", "exit_code": out.exitCode, "error": out.err, "execution": executionTimes(out, wall), "output_path": nil,
	})
	log.Error("run failed", slog.String("error", out.err), slog.Int64("attempts", row.AttemptCount))
}

// succeededAck is the ack of a succeeded run: the fenced CompleteRun, then
// (only if it changed the row) the replace of the run's results, encoded
// before the ack waits for the write lock. out.err, when set, says what
// part of the outcome is not stored.
func (w *Worker) succeededAck(ctx context.Context, run claimedRun, out runOutcome, res store.RunResults) func(q *db.Queries) (int64, error) {
	exit := out.exitParam()
	return func(q *db.Queries) (int64, error) {
		n, err := q.CompleteRun(ctx, db.CompleteRunParams{Now: w.dbNow(), ExitCode: exit, OutputPath: nullStr(out.outputPath),
			ErrorMessage: nullStr(out.err), ID: run.ID, WorkerID: nsv(w.cfg.WorkerID), AttemptCount: run.AttemptCount})
		if err != nil || n == 0 {
			return n, err
		}
		return n, store.ReplaceRunResults(ctx, q, run.ID, res)
	}
}

var errFenced = errors.New("fenced write changed no row")

// afterAck counts the outcome of run runID and reports whether the write
// took effect.
func (w *Worker) afterAck(runID string, n int64, err error, outcome string, log *slog.Logger) bool {
	switch {
	case err != nil:
		w.noteUnrecorded("run:" + runID)
		log.Error("could not record the run's outcome; its lease will expire and it will run again", slog.String("error", err.Error()))
		return false
	case n == 0:
		w.metrics.LostClaims.WithLabelValues("run").Inc()
		w.metrics.RunsFinished.WithLabelValues("lost").Inc()
		log.Warn("claim lost before the outcome was written; nothing recorded", slog.String("outcome", outcome))
		return false
	}
	w.metrics.RunsFinished.WithLabelValues(outcome).Inc()
	return true
}
