package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/ade-dev/ade-worker/gen/db"
	"github.com/ade-dev/ade-worker/internal/eventlog"
	"github.com/ade-dev/ade-worker/internal/paths"
)

// Infrastructure faults are errors of the worker's host, not of the run: a
// full disk (ENOSPC), a quota (EDQUOT), a file system gone read-only
// (EROFS), no file descriptors left (EMFILE, ENFILE). A retry soon after
// meets the same fault, so spending attempts on it would fail good runs in
// seconds. A run that meets one before its engine could do its work is
// given back without spending its attempt and waits out a backoff that
// grows with the worker's consecutive faults (see deferRun).

// infraFault names the infrastructure fault err is ("no_space", "quota",
// "read_only", "open_files"), or "" when it is none.
func infraFault(err error) string {
	if err == nil {
		return ""
	}
	for _, f := range infraFaults {
		if errors.Is(err, f.err) {
			return f.kind
		}
	}
	return ""
}

// faulted is the outcome of an attempt an infrastructure fault stopped,
// when err is one.
func faulted(err error, format string, args ...any) (runOutcome, bool) {
	kind := infraFault(err)
	if kind == "" {
		return runOutcome{}, false
	}
	return runOutcome{kind: outcomeDeferred, fault: kind, err: fmt.Sprintf(format, args...)}, true
}

// runFiles is the run job's own file work in the data folder, behind an
// interface so that a test can make it fail as a full disk does.
type runFiles interface {
	makeRunFolder(rp paths.RunPaths) error
	openEvents(path string, context map[string]string) (*eventlog.Log, error)
	stage(src *os.File, dst string) error
}

// osFiles is runFiles on the real file system.
type osFiles struct{}

func (osFiles) makeRunFolder(rp paths.RunPaths) error { return makeRunFolder(rp) }

func (osFiles) openEvents(path string, context map[string]string) (*eventlog.Log, error) {
	return eventlog.Open(path, context)
}

func (osFiles) stage(src *os.File, dst string) error { return paths.WriteCopy(src, dst) }

// deferRun gives a run an infrastructure fault stopped back to the queue
// without spending its attempt, to be claimed again after
// backoff(consecutive faults of this worker): the fault is the host's, so
// it is counted per worker, and the delay grows to
// ADE_WORKER_BACKOFF_MAX_SECONDS while faults go on. The first attempt that
// gets its input staged starts the count again.
func (w *Worker) deferRun(actx context.Context, run claimedRun, out runOutcome, ev *eventlog.Log, log *slog.Logger) {
	streak := w.faultStreak.Add(1)
	delay := w.cfg.Backoff(int(min(streak, 64)))
	w.metrics.InfraFaults.WithLabelValues(out.fault).Inc()
	log.Warn("infrastructure fault: run given back without spending its attempt",
		slog.String("kind", out.fault), slog.String("error", out.err), slog.Duration("retry_in", delay), slog.Int64("consecutive_faults", streak))
	n, err := w.ackRun(actx, log, 0, func(q *db.Queries) (int64, error) {
		return q.DeferRun(actx, db.DeferRunParams{
			ErrorMessage: nullStr(out.err), Now: w.dbNow(), DelaySeconds: delay.Seconds(), ID: run.ID, WorkerID: nsv(w.cfg.WorkerID),
			AttemptCount: run.AttemptCount,
		})
	})
	if !w.afterAck(run.ID, n, err, "released", log) {
		return
	}
	ev.Emit("warning", "run.released", "infrastructure fault: run released without spending its attempt", map[string]any{
		"reason": out.err, "fault": out.fault, "retry_in_ms": delay.Milliseconds(),
	})
}
