package app

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/ade-dev/ade-worker/gen/db"
	"github.com/ade-dev/ade-worker/internal/envbuild"
	"github.com/ade-dev/ade-worker/internal/eventlog"
	"github.com/ade-dev/ade-worker/internal/paths"
)

// buildEnvironment is the job of one claimed environment.
func (w *Worker) buildEnvironment(parent context.Context, env db.ClaimEnvironmentRow) {
	started := time.Now()
	log := w.log.With(slog.String("environment_id", env.ID), slog.String("workspace_id", env.WorkspaceID),
		slog.String("configuration_id", env.ConfigurationID), slog.Int64("attempt", env.AttemptCount))
	frame := jobFrame{kind: "environment", key: "environment:" + env.ID, log: log, claimedAt: started,
		heartbeat: func(hctx context.Context) (int64, error) {
			return w.st.Queries().HeartbeatEnvironment(hctx, db.HeartbeatEnvironmentParams{Now: w.dbNow(), LeaseSeconds: w.cfg.Lease.Seconds(), ID: env.ID,
				WorkerID: nsv(w.cfg.WorkerID), AttemptCount: env.AttemptCount})
		}}
	w.runFrame(parent, frame, func(ctx context.Context) {
		ep, pathErr := w.layout.Env(env.WorkspaceID, env.ConfigurationID, env.DepsDigest, env.ID)
		ev := w.openBuildLog(env, ep, pathErr, log)
		defer ev.Close()
		ev.Emit("info", "environment.start", "environment build started", map[string]any{
			"attempt": env.AttemptCount, "engine_spec": env.EngineSpec, "deps_digest": env.DepsDigest, "worker_id": w.cfg.WorkerID,
		})
		log.Info("environment build started")
		res := guarded(log, func() buildResult { return w.runBuild(ctx, env, ep, pathErr, ev) },
			func(any) buildResult { return buildResult{err: errors.New("internal error in the worker")} })
		wall := time.Since(started)
		w.metrics.EnvBuildDuration.Observe(wall.Seconds())
		lost := func() {
			w.metrics.EnvBuilds.WithLabelValues("lost").Inc()
			ev.Emit("warning", "environment.lost", "claim lost; build stopped and nothing written", nil)
		}
		w.settle(ctx, lost, func(actx context.Context, cause error) {
			switch {
			case errors.Is(cause, errShutdown):
				w.releaseBuild(actx, env, ev, log)
			case res.err == nil:
				w.markReady(actx, env, res.info, ev, log, wall)
			default:
				w.failBuild(actx, env, res.err, res.final, ev, log)
			}
		})
	})
}

// openBuildLog opens the environment's event log (nil when it has no
// folder or the log cannot be opened: the build goes on without it).
func (w *Worker) openBuildLog(env db.ClaimEnvironmentRow, ep paths.EnvPaths, pathErr error, log *slog.Logger) *eventlog.Log {
	if pathErr != nil {
		return nil
	}
	// What a build's setup code may have left at the log's path (a FIFO
	// would make the open wait) goes first.
	err := paths.ClearIrregular(ep.Events)
	var ev *eventlog.Log
	if err == nil {
		ev, err = eventlog.Open(ep.Events, map[string]string{
			"environment_id": env.ID, "workspace_id": env.WorkspaceID, "configuration_id": env.ConfigurationID,
		})
	}
	if err != nil {
		log.Warn("cannot open the environment's event log; continuing without it", slog.String("error", err.Error()))
	}
	return ev
}

// buildResult is how a build ended: info when it succeeded; final when its
// failure is one no retry can fix.
type buildResult struct {
	info  envbuild.Info
	err   error
	final bool
}

// runBuild builds the environment.
func (w *Worker) runBuild(ctx context.Context, env db.ClaimEnvironmentRow, ep paths.EnvPaths, pathErr error, ev *eventlog.Log) buildResult {
	if pathErr != nil {
		return buildResult{err: pathErr, final: true}
	}
	configDir, err := w.layout.ConfigPackageDir(env.WorkspaceID, env.ConfigurationID)
	if err != nil {
		return buildResult{err: err, final: true}
	}
	info, err := envbuild.Build(ctx, envbuild.Spec{
		Python: w.cfg.Python, EnvDir: ep.Dir, Venv: ep.Venv, EngineSpec: env.EngineSpec,
		ConfigPackageDir: configDir, PipCacheDir: w.layout.PipCacheDir(), BaseEnv: w.baseEnv,
		EnvPassthrough: w.cfg.EngineEnvPassthrough, Timeout: w.cfg.EnvBuildTimeout, Log: ev,
	})
	return buildResult{info: info, err: err}
}

// releaseBuild gives a build a shutdown stopped back without spending its
// attempt.
func (w *Worker) releaseBuild(actx context.Context, env db.ClaimEnvironmentRow, ev *eventlog.Log, log *slog.Logger) {
	n, err := w.ackAlone(actx, log, func(q *db.Queries) (int64, error) {
		return q.ReleaseEnvironment(actx, db.ReleaseEnvironmentParams{Now: w.dbNow(), ID: env.ID, WorkerID: nsv(w.cfg.WorkerID), AttemptCount: env.AttemptCount})
	})
	if err != nil || n == 0 {
		w.lostEnvironment(env.ID, n, err)
		return
	}
	w.metrics.EnvBuilds.WithLabelValues("released").Inc()
	ev.Emit("info", "environment.released", "build released without spending its attempt (worker shutting down)", nil)
	log.Info("environment build released (shutting down)")
}

// markReady records a finished build.
func (w *Worker) markReady(actx context.Context, env db.ClaimEnvironmentRow, info envbuild.Info, ev *eventlog.Log, log *slog.Logger, wall time.Duration) {
	n, err := w.ackAlone(actx, log, func(q *db.Queries) (int64, error) {
		return q.MarkEnvironmentReady(actx, db.MarkEnvironmentReadyParams{
			PythonVersion: nullStr(info.PythonVersion), PythonInterpreter: nullStr(info.Interpreter),
			EngineVersion: nullStr(info.EngineVersion), Now: w.dbNow(), ID: env.ID, WorkerID: nsv(w.cfg.WorkerID),
			AttemptCount: env.AttemptCount,
		})
	})
	if err != nil || n == 0 {
		w.lostEnvironment(env.ID, n, err)
		log.Warn("environment built but its claim was lost or the write failed; not marked ready")
		return
	}
	w.metrics.EnvBuilds.WithLabelValues("ready").Inc()
	ev.Emit("info", "environment.complete", "environment ready", map[string]any{
		"python_version": info.PythonVersion, "python_interpreter": info.Interpreter,
		"engine_version": info.EngineVersion, "duration_ms": wall.Milliseconds(),
	})
	log.Info("environment ready", slog.Duration("took", wall), slog.String("engine_version", info.EngineVersion))
	w.poke()
}

// failBuild records a failed build: queued again after backoff while build
// attempts remain and the failure is not final, else failed, with the runs
// waiting on it.
func (w *Worker) failBuild(actx context.Context, env db.ClaimEnvironmentRow, buildErr error, final bool, ev *eventlog.Log, log *slog.Logger) {
	maxAttempts := int64(w.cfg.EnvBuildMaxAttempts)
	if final {
		maxAttempts = 0
	}
	var row db.FailEnvironmentBuildRow
	n, err := w.ackAlone(actx, log, func(q *db.Queries) (int64, error) {
		r, err := q.FailEnvironmentBuild(actx, db.FailEnvironmentBuildParams{
			MaxAttempts: maxAttempts, Now: w.dbNow(), BackoffMaxSeconds: w.cfg.BackoffMax.Seconds(),
			BackoffBaseSeconds: w.cfg.BackoffBase.Seconds(), ErrorMessage: nullStr(buildErr.Error()),
			ID: env.ID, WorkerID: nsv(w.cfg.WorkerID), AttemptCount: env.AttemptCount,
		})
		if err != nil {
			return 0, ignoreNoRows(err)
		}
		row = r
		return 1, nil
	})
	if err != nil || n == 0 {
		w.lostEnvironment(env.ID, n, err)
		log.Warn("environment build failed but its claim was lost or the write failed; nothing recorded", slog.String("error", buildErr.Error()))
		return
	}
	if row.Status == "queued" {
		w.metrics.EnvBuilds.WithLabelValues("retried").Inc()
		ev.Emit("warning", "environment.failed", "environment build failed; it will be retried", map[string]any{
			"error": buildErr.Error(), "attempt": row.AttemptCount, "available_at": row.AvailableAt.String(), "final": false,
		})
		log.Warn("environment build failed; retrying later", slog.String("error", buildErr.Error()), slog.String("available_at", row.AvailableAt.String()))
		return
	}
	w.metrics.EnvBuilds.WithLabelValues("failed").Inc()
	ev.Emit("error", "environment.failed", "environment build failed for good; its queued runs fail", map[string]any{
		"error": buildErr.Error(), "attempt": row.AttemptCount, "final": true,
	})
	log.Error("environment build failed for good", slog.String("error", buildErr.Error()))
	// Fail the runs waiting on it now rather than at the next sweep.
	if err := w.failRunsOfFailedEnvironments(actx); err != nil {
		log.Warn("failing the runs of a failed environment; the sweep will retry", slog.String("error", err.Error()))
	}
}

// lostEnvironment counts a build whose outcome was not written: a fenced
// write that changed no row is a lost claim; an error (a hard stop while
// the database was down) leaves the lease to expire.
func (w *Worker) lostEnvironment(envID string, n int64, err error) {
	w.metrics.EnvBuilds.WithLabelValues("lost").Inc()
	if err != nil {
		w.noteUnrecorded("environment:" + envID)
	}
	if err == nil && n == 0 {
		w.metrics.LostClaims.WithLabelValues("environment").Inc()
	}
}

// poke wakes the loop (an environment became ready: its runs can start).
func (w *Worker) poke() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}
