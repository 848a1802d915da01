package app

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"

	"github.com/ade-dev/ade-worker/gen/db"
	"github.com/ade-dev/ade-worker/internal/eventlog"
)

// sweep recovers from workers that died: expired run and environment leases
// go back to the queue (or fail when attempts are used up), runs that can
// never be claimed fail with a reason, and runs waiting on an environment
// that failed for good fail with the build's error.
func (w *Worker) sweep(ctx context.Context) error {
	backoffMax, backoffBase := w.cfg.BackoffMax.Seconds(), w.cfg.BackoffBase.Seconds()
	var expired []db.ExpireRunLeasesRow
	err := w.st.Write(ctx, func(q *db.Queries) error {
		var err error
		expired, err = q.ExpireRunLeases(ctx, db.ExpireRunLeasesParams{Now: w.dbNow(), BackoffMaxSeconds: backoffMax, BackoffBaseSeconds: backoffBase})
		return err
	})
	if err != nil {
		return err
	}
	for _, r := range expired {
		w.metrics.LeaseExpiries.WithLabelValues("run").Inc()
		event, level := "run.retry", "warning"
		if r.Status == "failed" {
			event, level = "run.complete", "error"
		}
		w.runEvent(r.WorkspaceID, r.ID, level, event, "lease expired: the worker holding the run stopped heartbeating",
			map[string]any{"status": r.Status, "attempt": r.AttemptCount, "error": "lease expired"})
		w.log.Warn("run lease expired", slog.String("run_id", r.ID), slog.String("status", r.Status), slog.Int64("attempt", r.AttemptCount))
	}

	var envs []db.ExpireEnvironmentLeasesRow
	if err := w.st.Write(ctx, func(q *db.Queries) error {
		var err error
		envs, err = q.ExpireEnvironmentLeases(ctx, w.dbNow())
		return err
	}); err != nil {
		return err
	}
	for _, e := range envs {
		w.metrics.LeaseExpiries.WithLabelValues("environment").Inc()
		w.log.Warn("environment build lease expired; requeued", slog.String("environment_id", e.ID))
	}

	var exhausted []db.FailExhaustedRunsRow
	if err := w.st.Write(ctx, func(q *db.Queries) error {
		var err error
		exhausted, err = q.FailExhaustedRuns(ctx, w.dbNow())
		return err
	}); err != nil {
		return err
	}
	for _, r := range exhausted {
		w.runEvent(r.WorkspaceID, r.ID, "error", "run.complete", "run failed: no attempts left",
			map[string]any{"status": "failed", "error": r.ErrorMessage.String})
		w.log.Warn("queued run can never be claimed; failed", slog.String("run_id", r.ID), slog.String("error", r.ErrorMessage.String))
	}
	return w.failRunsOfFailedEnvironments(ctx)
}

func (w *Worker) failRunsOfFailedEnvironments(ctx context.Context) error {
	var rows []db.FailRunsOfFailedEnvironmentsRow
	if err := w.st.Write(ctx, func(q *db.Queries) error {
		var err error
		rows, err = q.FailRunsOfFailedEnvironments(ctx, w.dbNow())
		return err
	}); err != nil {
		return err
	}
	for _, r := range rows {
		w.runEvent(r.WorkspaceID, r.ID, "error", "run.complete", "run failed: its environment could not be built",
			map[string]any{"status": "failed", "error": r.ErrorMessage.String})
		w.log.Warn("run failed: its environment failed for good", slog.String("run_id", r.ID), slog.String("error", r.ErrorMessage.String))
	}
	return nil
}

// runEvent appends one record to a run's events.ndjson outside its job (a
// sweep). A run whose ids are unsafe has no folder; the worker log has it.
func (w *Worker) runEvent(workspaceID, runID, level, event, message string, data map[string]any) {
	rp, err := w.layout.Run(workspaceID, runID)
	if err != nil {
		return
	}
	ev, err := eventlog.Open(rp.Events, map[string]string{"run_id": runID, "workspace_id": workspaceID})
	if err != nil {
		return
	}
	ev.Emit(level, event, message, data)
	_ = ev.Close()
}

func ignoreNoRows(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	return err
}
