package app

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/ade-dev/ade-worker/gen/db"
	"github.com/ade-dev/ade-worker/internal/dbtime"
)

// GCReport is what one garbage collection pass did (or, dry, would do).
type GCReport struct {
	DryRun              bool     `json:"dry_run"`
	EnvironmentsDeleted []string `json:"environments_deleted"`
	EnvironmentsKept    []string `json:"environments_kept"` // became needed between listing and deleting
	RunFoldersDeleted   []string `json:"run_folders_deleted"`
	Errors              []string `json:"errors"`
}

// runCursor is the (completed_at, id) of the last expired run a pass of
// run-folder collection went through. gcLoop keeps it from one pass to the
// next, so a pass lists only the runs that expired since the last one, not
// every run ever finished before the TTL (whose folders earlier passes
// removed). Runs complete in completed_at order to within far less than the
// TTL (days), so no run can expire behind the cursor; one that completes
// again gets a later completed_at.
//
// completedAt is the instant exactly as the database returned it: on SQL
// Server a DATETIME2 has seven decimals, and a cursor cut to six would sit
// before the last row of its page, which every next page would list again,
// without end.
type runCursor struct {
	completedAt dbtime.Time
	id          string
}

// gcLoop runs a pass at start and then every GCInterval.
func (w *Worker) gcLoop(ctx context.Context) {
	var runs runCursor
	for {
		if _, err := w.gc(ctx, false, &runs); err != nil && ctx.Err() == nil {
			w.log.Error("garbage collection failed; will retry next interval", slog.String("error", err.Error()))
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(jitter(w.cfg.GCInterval)):
		}
	}
}

// GC deletes cold environments of inactive configurations (folder first,
// then row, the row only if every rule still holds) and the folders of runs
// finished longer ago than the artifact TTL, looking at every expired run.
func (w *Worker) GC(ctx context.Context, dryRun bool) (GCReport, error) {
	return w.gc(ctx, dryRun, &runCursor{})
}

// gc is one pass of GC that lists expired runs after *runs and, unless dry
// or a folder could not be removed, moves *runs to the last one listed.
func (w *Worker) gc(ctx context.Context, dryRun bool, runs *runCursor) (GCReport, error) {
	w.gcMu.Lock()
	defer w.gcMu.Unlock()
	// Empty lists, not nil: `gc --json` prints [] for "nothing", never null.
	rep := GCReport{DryRun: dryRun, EnvironmentsDeleted: []string{}, EnvironmentsKept: []string{}, RunFoldersDeleted: []string{}, Errors: []string{}}
	ttl := float64(w.cfg.EnvTTLDays)
	seen := map[string]bool{}
	for {
		envs, err := w.st.Queries().ListGCEnvironments(ctx, db.ListGCEnvironmentsParams{Now: w.dbNow(), TtlDays: ttl})
		if err != nil {
			return rep, fmt.Errorf("list collectable environments: %w", err)
		}
		progress := false
		for _, e := range envs {
			if seen[e.ID] {
				continue
			}
			seen[e.ID] = true
			progress = true
			ep, err := w.layout.Env(e.WorkspaceID, e.ConfigurationID, e.DepsDigest, e.ID)
			if err != nil {
				rep.Errors = append(rep.Errors, fmt.Sprintf("environment %s: %v", e.ID, err))
				continue
			}
			if dryRun {
				rep.EnvironmentsDeleted = append(rep.EnvironmentsDeleted, e.ID)
				continue
			}
			if err := os.RemoveAll(ep.Dir); err != nil {
				rep.Errors = append(rep.Errors, fmt.Sprintf("remove %s: %v", ep.Dir, err))
				continue
			}
			var n int64
			err = w.st.Write(ctx, func(q *db.Queries) error {
				var err error
				n, err = q.DeleteGCEnvironment(ctx, db.DeleteGCEnvironmentParams{ID: e.ID, Now: w.dbNow(), TtlDays: ttl})
				return err
			})
			switch {
			case err != nil:
				rep.Errors = append(rep.Errors, fmt.Sprintf("delete environment %s: %v", e.ID, err))
			case n == 0:
				rep.EnvironmentsKept = append(rep.EnvironmentsKept, e.ID)
			default:
				rep.EnvironmentsDeleted = append(rep.EnvironmentsDeleted, e.ID)
				w.log.Info("garbage collected environment", slog.String("environment_id", e.ID), slog.String("folder", ep.Dir))
			}
		}
		if !progress || dryRun {
			break
		}
	}

	if w.cfg.RunArtifactTTLDays > 0 {
		if err := w.gcRunFolders(ctx, dryRun, runs, &rep); err != nil {
			return rep, err
		}
	}
	if n := len(rep.EnvironmentsDeleted) + len(rep.RunFoldersDeleted); n > 0 || len(rep.Errors) > 0 {
		w.log.Info("garbage collection pass", slog.Bool("dry_run", dryRun), slog.Int("environments", len(rep.EnvironmentsDeleted)),
			slog.Int("run_folders", len(rep.RunFoldersDeleted)), slog.Int("errors", len(rep.Errors)))
	}
	return rep, nil
}

// gcRunFolders removes (dry: lists) the folders of the runs that expired
// after *runs, page by page in (completed_at, id) order, and, unless dry or
// a folder could not be removed, moves *runs to the last one listed.
func (w *Worker) gcRunFolders(ctx context.Context, dryRun bool, runs *runCursor, rep *GCReport) error {
	after, afterID := runs.completedAt, runs.id
	removeFailed := false
	for {
		page, err := w.st.Queries().ListExpiredRunArtifacts(ctx, db.ListExpiredRunArtifactsParams{
			Now: w.dbNow(), TtlDays: float64(w.cfg.RunArtifactTTLDays),
			AfterCompletedAt: dbtime.NullTime{Time: after, Valid: true}, AfterID: afterID,
		})
		if err != nil {
			return fmt.Errorf("list expired run folders: %w", err)
		}
		for _, r := range page {
			rp, err := w.layout.Run(r.WorkspaceID, r.ID)
			if err != nil {
				continue
			}
			if _, err := os.Stat(rp.Dir); err != nil {
				continue
			}
			if !dryRun {
				if err := os.RemoveAll(rp.Dir); err != nil {
					rep.Errors = append(rep.Errors, fmt.Sprintf("remove %s: %v", rp.Dir, err))
					removeFailed = true
					continue
				}
			}
			rep.RunFoldersDeleted = append(rep.RunFoldersDeleted, r.ID)
		}
		if len(page) == 0 {
			break
		}
		last := page[len(page)-1]
		after, afterID = last.CompletedAt.Time, last.ID
	}
	// A folder that could not be removed is tried again next pass.
	if !dryRun && !removeFailed {
		*runs = runCursor{after, afterID}
	}
	return nil
}
