package app_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

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

// GC pages through expired runs by (completed_at, id) and ends. On SQL
// Server completed_at has seven decimals (SYSUTCDATETIME()); a cursor that
// went back through the six-decimal text form sat a fraction of a
// microsecond before the last row of its page, so every page listed that
// row again and GC never ended. The runs here share one microsecond and
// differ in the seventh decimal (SQLite and Babelfish keep six: they share
// one instant), with more runs than a page holds.
func TestGCPagesThroughRunsOfOneMicrosecond(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		h := newHarness(t, st, "ADE_WORKER_RUN_ARTIFACT_TTL_DAYS=30")
		const runs = 620 // more than one page of 500
		var want []string
		for i := range runs {
			id := h.insertRun(newID(), "ade-engine==1.0", "sha256:pages")
			at := "2020-01-01 00:00:00.123456"
			if st.Dialect() == store.MSSQL {
				at += string(rune('0' + i%10))
			}
			h.exec("set_completed_at", sql.Named("id", id), sql.Named("completed_at", at))
			writeFile(t, filepath.Join(h.runPaths(id).Dir, "logs", "events.ndjson"))
			want = append(want, id)
		}
		slices.Sort(want)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		rep, err := h.worker().GC(ctx, true)
		if err != nil {
			t.Fatalf("GC --dry-run did not finish: %v (listed %d folders for %d runs)", err, len(rep.RunFoldersDeleted), runs)
		}
		if !sameSet(rep.RunFoldersDeleted, want) {
			t.Fatalf("GC listed %d run folders for %d runs (a run listed twice, or one missed)", len(rep.RunFoldersDeleted), runs)
		}
	})
}
