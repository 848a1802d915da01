package app

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/ade-dev/ade-worker/gen/db"
	"github.com/ade-dev/ade-worker/internal/engine"
	"github.com/ade-dev/ade-worker/internal/envbuild"
	"github.com/ade-dev/ade-worker/internal/eventlog"
	"github.com/ade-dev/ade-worker/internal/paths"
	"github.com/ade-dev/ade-worker/internal/results"
	"github.com/ade-dev/ade-worker/internal/runopts"
)

// outcomeKind is how an attempt of a run ended; it decides what finishRun
// writes.
type outcomeKind int

const (
	// outcomeFailed fails the run at once (bad options, unsafe paths): a
	// retry would meet the same input.
	outcomeFailed outcomeKind = iota
	// outcomeRetryable sends the run back to the queue, after a backoff,
	// while attempts remain.
	outcomeRetryable
	// outcomeSucceeded completes the run with its results.
	outcomeSucceeded
	// outcomeStopped is an attempt the job's cancellation interrupted (the
	// engine was stopped, or never started): released at shutdown, where
	// an attempt that ended by itself is recorded.
	outcomeStopped
	// outcomeEnvironmentGone gives the run back without spending its
	// attempt and queues its environment to be built again: the
	// environment's interpreter vanished.
	outcomeEnvironmentGone
	// outcomeDeferred gives the run back without spending its attempt,
	// after a backoff: an infrastructure fault stopped it (fault says which).
	outcomeDeferred
)

// runOutcome is how one attempt of a run ended, before it is written.
type runOutcome struct {
	kind outcomeKind
	// fault names the infrastructure fault of an outcomeDeferred (see
	// infraFault).
	fault      string
	exitCode   *int
	err        string
	summary    *results.Summary
	outputPath string
	engineCPU  time.Duration
	engineWall time.Duration
}

// exitParam is the engine's exit code as the outcome statements take it
// (NULL when the engine never exited).
func (o runOutcome) exitParam() sql.NullInt64 {
	if o.exitCode == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: int64(*o.exitCode), Valid: true}
}

func failed(retryable bool, format string, args ...any) runOutcome {
	kind := outcomeFailed
	if retryable {
		kind = outcomeRetryable
	}
	return runOutcome{kind: kind, err: fmt.Sprintf(format, args...)}
}

// processRun is the job of one claimed run. It gives its slot back
// (freeSlot) once the engine has ended, before writing the outcome.
func (w *Worker) processRun(parent context.Context, run claimedRun, freeSlot func()) {
	started := time.Now()
	log := w.log.With(slog.String("run_id", run.ID), slog.String("workspace_id", run.WorkspaceID),
		slog.String("environment_id", run.Env.ID), slog.Int64("attempt", run.AttemptCount))
	frame := jobFrame{kind: "run", key: "run:" + run.ID, log: log, claimedAt: run.claimedAt,
		heartbeat: func(hctx context.Context) (int64, error) {
			return w.st.Queries().HeartbeatRun(hctx, db.HeartbeatRunParams{Now: w.dbNow(), LeaseSeconds: w.cfg.Lease.Seconds(), ID: run.ID,
				WorkerID: nsv(w.cfg.WorkerID), AttemptCount: run.AttemptCount})
		}}
	w.runFrame(parent, frame, func(ctx context.Context) {
		rp, ev, stop := w.openRunFolder(run, log)
		defer ev.Close()
		log.Info("run started")
		out := guarded(log, func() runOutcome { return w.attempt(ctx, run, rp, ev, log, stop) },
			func(p any) runOutcome { return failed(true, "internal error in the worker: %v", p) })
		freeSlot()
		w.finishRun(ctx, run, out, ev, log, time.Since(started))
	})
}

// attempt is one attempt of the run, unless stop (the run folder could not
// be made) already says how it ended.
func (w *Worker) attempt(ctx context.Context, run claimedRun, rp paths.RunPaths, ev *eventlog.Log, log *slog.Logger, stop *runOutcome) runOutcome {
	if stop != nil {
		return *stop
	}
	out := w.execute(ctx, run, rp, ev, log)
	if out.kind == outcomeRetryable {
		// An engine that failed while its event log could not be written
		// met the full disk (or the like) too: give the run back rather
		// than spend its attempt.
		if err := ev.Flush(); err != nil {
			if o, ok := faulted(err, "%s; writing the event log: %v", out.err, err); ok {
				return o
			}
		}
	}
	return out
}

// openRunFolder makes the run's folder and opens its event log, with
// run.start in it; stop is the outcome of an attempt that cannot go on.
// The log is nil when the run has no folder or the log cannot be opened
// for another reason than an infrastructure fault.
func (w *Worker) openRunFolder(run claimedRun, log *slog.Logger) (paths.RunPaths, *eventlog.Log, *runOutcome) {
	rp, err := w.layout.Run(run.WorkspaceID, run.ID)
	if err != nil {
		out := failed(false, "%v", err)
		return rp, nil, &out
	}
	if err := w.files.makeRunFolder(rp); err != nil {
		out, ok := faulted(err, "create run folder: %v", err)
		if !ok {
			out = failed(true, "create run folder: %v", err)
		}
		return rp, nil, &out
	}
	ev, err := w.files.openEvents(rp.Events, map[string]string{
		"run_id": run.ID, "workspace_id": run.WorkspaceID,
		"configuration_id": run.ConfigurationID, "environment_id": run.Env.ID,
	})
	if err != nil {
		if out, ok := faulted(err, "open the run's event log: %v", err); ok {
			return rp, nil, &out
		}
		log.Warn("cannot open the run's event log; continuing without it", slog.String("error", err.Error()))
	}
	ev.Emit("info", "run.start", "run started", map[string]any{
		"attempt": run.AttemptCount, "max_attempts": run.MaxAttempts, "worker_id": w.cfg.WorkerID,
	})
	// A log that cannot take its first record will not take the engine's.
	if err := ev.Flush(); err != nil {
		if out, ok := faulted(err, "write the run's event log: %v", err); ok {
			return rp, ev, &out
		}
	}
	return rp, ev, nil
}

// execute does the work of one attempt and says how it ended. It writes no
// row: finishRun does, fenced on the claim.
func (w *Worker) execute(ctx context.Context, run claimedRun, rp paths.RunPaths, ev *eventlog.Log, log *slog.Logger) runOutcome {
	opts, err := runopts.Parse(run.RunOptions.String, run.InputSheetNames.String)
	if err != nil {
		return failed(false, "invalid run options: %v", err)
	}
	if !opts.LogLevelSet {
		opts.LogLevel = engineLogLevel(w.cfg.LogLevel)
	}
	if opts.DryRun {
		ev.Emit("info", "run.dry_run", "dry run: the engine is not invoked", nil)
		return runOutcome{kind: outcomeSucceeded}
	}
	spec, stop := w.prepare(run, rp, opts, ev, log)
	if stop != nil {
		return *stop
	}
	ev.Emit("info", "run.engine.start", "engine started", map[string]any{"args": spec.Args})
	res, err := engine.Run(ctx, spec)
	if err != nil {
		if ctx.Err() != nil {
			return runOutcome{kind: outcomeStopped, err: "stopped before the engine started: " + context.Cause(ctx).Error()}
		}
		if out, ok := faulted(err, "start engine: %v", err); ok {
			return out
		}
		// An argument list too long fails the same way every time.
		return failed(!errors.Is(err, syscall.E2BIG), "start engine: %v", err)
	}
	return w.engineOutcome(ctx, res, opts, rp, ev, log)
}

// prepare checks what the engine needs and stages the input; it returns
// the engine's command, or the outcome of an attempt that cannot start.
func (w *Worker) prepare(run claimedRun, rp paths.RunPaths, opts runopts.Options, ev *eventlog.Log, log *slog.Logger) (engine.Spec, *runOutcome) {
	stop := func(o runOutcome) (engine.Spec, *runOutcome) { return engine.Spec{}, &o }
	interpreter := run.Env.PythonInterpreter.String
	if err := envbuild.Usable(interpreter); err != nil {
		// The environment's folder vanished (GC, a wiped disk): rebuild it
		// once and give the run back without spending its attempt.
		log.Warn("environment interpreter is gone; rebuilding the environment", slog.String("error", err.Error()))
		ev.Emit("warning", "run.environment_missing", "environment interpreter is missing; the environment will be rebuilt", map[string]any{"error": err.Error()})
		return stop(runOutcome{kind: outcomeEnvironmentGone, err: "environment interpreter missing: " + err.Error()})
	}
	configDir, err := w.layout.ConfigPackageDir(run.WorkspaceID, run.ConfigurationID)
	if err != nil {
		return stop(failed(false, "%v", err))
	}
	if st, err := os.Stat(configDir); err != nil || !st.IsDir() {
		return stop(failed(false, "configuration package missing: %s", configDir))
	}
	spec := engine.Spec{
		Path:    interpreter,
		Dir:     rp.Dir,
		Env:     engine.VenvEnv(w.engineEnv, interpreter),
		Timeout: w.cfg.RunTimeout,
		Log:     ev,
		Scope:   "run",
	}
	if opts.ValidateOnly {
		spec.Args = opts.ValidateArgs(configDir)
	} else {
		staged, out := w.stageInput(run, rp)
		if out != nil {
			return stop(*out)
		}
		spec.Args = opts.ProcessArgs(staged, rp.Output, configDir)
	}
	// A command line the system cannot take fails at exec the same way
	// every time: refuse it here, saying which options made it so long.
	if err := engine.CheckArgs(spec.Path, spec.Args, spec.Env); err != nil {
		return stop(failed(false, "run options cannot be passed to the engine (%d input sheets, %d engine arguments): %v",
			len(opts.InputSheets), len(opts.EngineArgs), err))
	}
	return spec, nil
}

// stageInput copies the run's document into its input folder and returns
// the copy's path, or the outcome of an attempt that cannot have it.
func (w *Worker) stageInput(run claimedRun, rp paths.RunPaths) (string, *runOutcome) {
	if run.Doc == nil {
		out := failed(false, "document %s not found in workspace %s", run.InputDocumentID, run.WorkspaceID)
		return "", &out
	}
	src, err := w.layout.OpenDocument(run.WorkspaceID, run.Doc.StoredUri)
	if err != nil {
		// A missing file may still be on its way (the API writes the row
		// and the file separately); an unsafe path never becomes safe.
		out, ok := faulted(err, "input document: %v", err)
		if !ok {
			out = failed(errors.Is(err, paths.ErrNotFound), "input document: %v", err)
		}
		return "", &out
	}
	// A copy, never a link: the engine must not be able to change the
	// stored document. It is written in place: the engine starts only
	// once it is whole, and a retry writes it again.
	staged := rp.StagedInput(run.Doc.OriginalFilename)
	if err := w.files.stage(src, staged); err != nil {
		out, ok := faulted(err, "stage input document: %v", err)
		if !ok {
			out = failed(true, "stage input document: %v", err)
		}
		return "", &out
	}
	// The data folder takes writes again: faults start counting anew.
	w.faultStreak.Store(0)
	return staged, nil
}

// engineOutcome reads how an engine run ended: stopped, timed out, failed,
// or succeeded with its summary and output.
func (w *Worker) engineOutcome(ctx context.Context, res engine.Result, opts runopts.Options, rp paths.RunPaths, ev *eventlog.Log, log *slog.Logger) runOutcome {
	out := runOutcome{engineCPU: res.UserCPU + res.SysCPU, engineWall: res.Duration}
	code := res.ExitCode
	out.exitCode = &code
	switch {
	case res.Canceled:
		out.kind = outcomeStopped
		out.err = "stopped: " + context.Cause(ctx).Error()
		return out
	case res.TimedOut:
		out.kind = outcomeRetryable
		out.err = fmt.Sprintf("timed out after %s; the engine's process group was stopped", w.cfg.RunTimeout)
		return out
	}
	var summary *results.Summary
	c := res.Completed
	reported := c != nil && (c.Scope == "" || c.Scope == "run") && len(c.Data) > 0
	if reported {
		s, err := results.Parse(c.Data)
		if err != nil {
			ev.Emit("warning", "run.summary_invalid", "engine.run.completed data is not a JSON object; no results recorded", map[string]any{"error": err.Error()})
		} else {
			summary = &s
			if len(s.TooLong) > 0 {
				ev.Emit("warning", "run.summary_too_long", "values longer than the database stores were left out of the results",
					map[string]any{"left_out": s.TooLong, "max_name_characters": results.MaxNameLength, "max_text_characters": results.MaxTextLength})
			}
		}
	}
	if res.ExitCode != 0 {
		out.kind = outcomeRetryable
		out.err = engineError(res, summary)
		return out
	}
	out.kind = outcomeSucceeded
	if opts.ValidateOnly {
		return out
	}
	if !reported {
		// The run still succeeds on its output, but its results are
		// missing, not empty: say so. A summary longer than the engine
		// line limit arrives cut and is never seen as an event.
		ev.Emit("warning", "run.summary_missing", "the engine printed no engine.run.completed event (or one longer than the line limit); no results recorded",
			map[string]any{"max_summary_line_bytes": engine.DefaultMaxSummaryLine})
		log.Warn("engine printed no run summary; no results recorded")
	}
	out.summary = summary
	out.outputPath = w.outputPath(rp, summary, ev)
	return out
}

// engineError is a readable reason for a failed engine: its own error when
// it reported one, else the last lines it printed on stderr.
func engineError(res engine.Result, s *results.Summary) string {
	head := fmt.Sprintf("engine exited with code %d", res.ExitCode)
	if res.Signal != "" {
		head = "engine was killed by " + res.Signal
	}
	if s != nil && s.Error != "" {
		return head + ": " + s.Error
	}
	if len(res.Tail) > 0 {
		tail := strings.Join(res.Tail, "\n")
		if len(tail) > 2000 {
			tail = "…" + tail[len(tail)-2000:]
		}
		return head + ": " + tail
	}
	return head
}

// outputPath is outputs.normalized.path relative to the run folder when it
// lies inside it, else the first file under output/.
func (w *Worker) outputPath(rp paths.RunPaths, s *results.Summary, ev *eventlog.Log) string {
	if s != nil && s.NormalizedPath != "" {
		rel, err := paths.SafeJoinInside(rp.Dir, s.NormalizedPath)
		if err == nil {
			return rel
		}
		ev.Emit("warning", "run.output_path_rejected", "outputs.normalized.path is not inside the run folder; ignored", map[string]any{"path": s.NormalizedPath, "error": err.Error()})
	}
	var files []string
	_ = filepath.WalkDir(rp.Output, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			files = append(files, p)
		}
		return nil
	})
	sort.Strings(files)
	if len(files) == 0 {
		return ""
	}
	rel, err := filepath.Rel(rp.Dir, files[0])
	if err != nil {
		return ""
	}
	return filepath.ToSlash(rel)
}

// engineLogLevel is the engine's --log-level for the worker's own level: a
// run that names no level logs as verbosely as the worker that runs it.
func engineLogLevel(l slog.Level) string {
	switch {
	case l <= slog.LevelDebug:
		return "DEBUG"
	case l < slog.LevelWarn:
		return "INFO"
	case l < slog.LevelError:
		return "WARNING"
	}
	return "ERROR"
}
