package app_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"

	"github.com/ade-dev/ade-worker/internal/app"
	"github.com/ade-dev/ade-worker/internal/store"
	"github.com/ade-dev/ade-worker/internal/store/storetest"
)

// The GC loop lists only the runs that expired since its last pass: a run an
// earlier pass went through is not listed again (its folder was removed
// then), a run that expired since is. GC itself (the gc command) still looks
// at every expired run.
func TestGCLoopListsOnlyRunsExpiredSinceItsLastPass(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		h := newHarness(t, st, "ADE_WORKER_RUN_ARTIFACT_TTL_DAYS=30")
		ctx := context.Background()
		finished := func(daysAgo float64) (string, string) {
			id := h.insertRun(newID(), "ade-engine==1.0", "sha256:cursor")
			h.exec("finish_run", sql.Named("id", id), sql.Named("status", "succeeded"), sql.Named("completed_days_ago", daysAgo))
			dir := h.runPaths(id).Dir
			writeFile(t, filepath.Join(dir, "logs", "events.ndjson"))
			return id, dir
		}
		old, oldDir := finished(60)
		w := h.worker()
		var cursor app.RunCursor
		rep, err := w.GCPass(ctx, &cursor)
		if err != nil || !sameSet(rep.RunFoldersDeleted, []string{old}) {
			t.Fatalf("first pass = %+v, %v; want %s deleted", rep, err, old)
		}

		// The old run's folder is back (nothing the worker does, but it shows
		// what a pass looks at), and a run expired since the first pass.
		writeFile(t, filepath.Join(oldDir, "logs", "events.ndjson"))
		recent, recentDir := finished(31)
		rep, err = w.GCPass(ctx, &cursor)
		if err != nil || !sameSet(rep.RunFoldersDeleted, []string{recent}) {
			t.Fatalf("second pass = %+v, %v; want only %s deleted", rep, err, recent)
		}
		if _, err := os.Stat(recentDir); !os.IsNotExist(err) {
			t.Fatalf("folder of %s: %v; want removed", recent, err)
		}
		if _, err := os.Stat(oldDir); err != nil {
			t.Fatalf("second pass looked at %s again: %v", old, err)
		}

		rep, err = w.GC(ctx, false)
		if err != nil || !sameSet(rep.RunFoldersDeleted, []string{old}) {
			t.Fatalf("GC = %+v, %v; want %s deleted (it looks at every expired run)", rep, err, old)
		}
	})
}
