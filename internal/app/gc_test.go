package app_test

// Garbage collection of environments and run folders.

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/ade-dev/ade-worker/gen/db"
	"github.com/ade-dev/ade-worker/internal/store"
	"github.com/ade-dev/ade-worker/internal/store/storetest"
)

// TestGarbageCollection lays out environments and run folders of every kind
// and checks that GC deletes exactly what its rules allow (and that a dry
// run deletes nothing).
func TestGarbageCollection(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		h := newHarness(t, st, "ADE_WORKER_ENV_TTL_DAYS=30", "ADE_WORKER_RUN_ARTIFACT_TTL_DAYS=30")
		ctx := context.Background()
		const spec = "ade-engine==1.0"
		cfgActive, cfgInactive, cfgMissing := newID(), newID(), newID()
		err := st.Write(ctx, func(q *db.Queries) error {
			for _, id := range []string{cfgActive, cfgInactive} {
				if err := q.UpsertConfiguration(ctx, db.UpsertConfigurationParams{ID: id, WorkspaceID: workspaceID}); err != nil {
					return err
				}
			}
			_, err := q.SetConfigurationStatus(ctx, db.SetConfigurationStatusParams{Status: "inactive", ID: cfgInactive})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}

		type envCase struct {
			name, cfg, status     string
			updatedDays           float64
			lastUsedDays          any // nil: never used
			collect               bool
			queuedRun, runningRun bool
		}
		envCases := []envCase{
			{name: "inactive, ready, cold", cfg: cfgInactive, status: "ready", updatedDays: 60, lastUsedDays: 40.0, collect: true},
			{name: "inactive, failed, never used, old", cfg: cfgInactive, status: "failed", updatedDays: 40, collect: true},
			{name: "configuration row gone, cold", cfg: cfgMissing, status: "ready", updatedDays: 60, lastUsedDays: 31.0, collect: true},
			{name: "active configuration, cold", cfg: cfgActive, status: "ready", updatedDays: 60, lastUsedDays: 40.0},
			{name: "inactive, cold, a queued run needs it", cfg: cfgInactive, status: "ready", updatedDays: 60, lastUsedDays: 40.0, queuedRun: true},
			{name: "inactive, cold, a run is running on it", cfg: cfgInactive, status: "ready", updatedDays: 60, lastUsedDays: 40.0, runningRun: true},
			{name: "inactive, warm (used yesterday)", cfg: cfgInactive, status: "ready", updatedDays: 60, lastUsedDays: 1.0},
			{name: "inactive, failed recently, never used", cfg: cfgInactive, status: "failed", updatedDays: 2},
			{name: "inactive, cold, queued for a build", cfg: cfgInactive, status: "queued", updatedDays: 60, lastUsedDays: 40.0},
			{name: "inactive, cold, building", cfg: cfgInactive, status: "building", updatedDays: 60, lastUsedDays: 40.0},
		}
		type made struct {
			id, dir string
			collect bool
			name    string
		}
		var envs []made
		var runsKeepingEnvs []string
		for i, c := range envCases {
			id, digest := newID(), "sha256:"+strings.Repeat(string(rune('a'+i)), 8)
			h.exec("insert_environment", sql.Named("id", id), sql.Named("workspace_id", workspaceID),
				sql.Named("configuration_id", c.cfg), sql.Named("engine_spec", spec), sql.Named("deps_digest", digest),
				sql.Named("status", c.status), sql.Named("updated_days_ago", c.updatedDays),
				sql.Named("last_used_days_ago", c.lastUsedDays), sql.Named("python_interpreter", "/nonexistent/python"))
			ep, err := h.layout.Env(workspaceID, c.cfg, digest, id)
			if err != nil {
				t.Fatal(err)
			}
			writeFile(t, filepath.Join(ep.Venv, "bin", "python"))
			envs = append(envs, made{id: id, dir: ep.Dir, collect: c.collect, name: c.name})
			if c.queuedRun || c.runningRun {
				runID := h.insertRun(c.cfg, spec, digest)
				runsKeepingEnvs = append(runsKeepingEnvs, runID)
				if c.runningRun {
					h.exec("claim_run_for", sql.Named("id", runID), sql.Named("worker_id", "worker-z"))
				}
			}
		}

		type runCase struct {
			name, status string
			days         float64
			collect      bool
		}
		runCases := []runCase{
			{"succeeded 40 days ago", "succeeded", 40, true},
			{"failed 31 days ago", "failed", 31, true},
			{"succeeded 29 days ago", "succeeded", 29, false},
			{"failed an hour ago", "failed", 1.0 / 24, false},
		}
		type madeRun struct {
			id, dir string
			collect bool
			name    string
		}
		var runs []madeRun
		for _, c := range runCases {
			id := h.insertRun(cfgActive, spec, "sha256:runs")
			h.exec("finish_run", sql.Named("id", id), sql.Named("status", c.status), sql.Named("completed_days_ago", c.days))
			runs = append(runs, madeRun{id: id, dir: h.runPaths(id).Dir, collect: c.collect, name: c.name})
		}
		for _, id := range runsKeepingEnvs {
			runs = append(runs, madeRun{id: id, dir: h.runPaths(id).Dir, name: "queued or running"})
		}
		for _, r := range runs {
			writeFile(t, filepath.Join(r.dir, "logs", "events.ndjson"))
		}

		var wantEnvs, wantRuns []string
		for _, e := range envs {
			if e.collect {
				wantEnvs = append(wantEnvs, e.id)
			}
		}
		for _, r := range runs {
			if r.collect {
				wantRuns = append(wantRuns, r.id)
			}
		}
		slices.Sort(wantEnvs)
		slices.Sort(wantRuns)
		checkAll := func(when string, deleted bool) {
			t.Helper()
			for _, e := range envs {
				gone := e.collect && deleted
				_, rowErr := st.Queries().GetEnvironment(ctx, e.id)
				_, dirErr := os.Stat(e.dir)
				if gone != errors.Is(rowErr, sql.ErrNoRows) || gone != errors.Is(dirErr, os.ErrNotExist) {
					t.Errorf("%s: environment %q: row err %v, folder err %v; want deleted=%v", when, e.name, rowErr, dirErr, gone)
				}
			}
			for _, r := range runs {
				gone := r.collect && deleted
				if _, err := st.Queries().GetRun(ctx, r.id); err != nil {
					t.Errorf("%s: run %q: its row must stay: %v", when, r.name, err)
				}
				if _, err := os.Stat(r.dir); gone != errors.Is(err, os.ErrNotExist) {
					t.Errorf("%s: run folder %q: %v; want deleted=%v", when, r.name, err, gone)
				}
			}
		}

		w := h.worker()
		rep, err := w.GC(ctx, true)
		if err != nil {
			t.Fatal(err)
		}
		if !rep.DryRun || !sameSet(rep.EnvironmentsDeleted, wantEnvs) || !sameSet(rep.RunFoldersDeleted, wantRuns) || len(rep.Errors) > 0 {
			t.Errorf("dry run report = %+v; want environments %q and run folders %q", rep, wantEnvs, wantRuns)
		}
		checkAll("after the dry run", false)

		rep, err = w.GC(ctx, false)
		if err != nil {
			t.Fatal(err)
		}
		if rep.DryRun || !sameSet(rep.EnvironmentsDeleted, wantEnvs) || !sameSet(rep.RunFoldersDeleted, wantRuns) ||
			len(rep.Errors) > 0 || len(rep.EnvironmentsKept) > 0 {
			t.Errorf("report = %+v; want environments %q and run folders %q", rep, wantEnvs, wantRuns)
		}
		checkAll("after GC", true)

		rep, err = w.GC(ctx, false)
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.EnvironmentsDeleted)+len(rep.RunFoldersDeleted)+len(rep.Errors) > 0 {
			t.Errorf("a second pass did something: %+v", rep)
		}

		// A run artifact TTL of 0 keeps run folders forever.
		h.exec("finish_run", sql.Named("id", runs[2].id), sql.Named("status", "succeeded"), sql.Named("completed_days_ago", 400.0))
		rep, err = h.worker("ADE_WORKER_RUN_ARTIFACT_TTL_DAYS=0").GC(ctx, false)
		if err != nil || len(rep.RunFoldersDeleted) > 0 {
			t.Errorf("with ADE_WORKER_RUN_ARTIFACT_TTL_DAYS=0: %+v, %v; want no run folder deleted", rep, err)
		}
		if _, err := os.Stat(runs[2].dir); err != nil {
			t.Errorf("run folder deleted with ADE_WORKER_RUN_ARTIFACT_TTL_DAYS=0: %v", err)
		}
	})
}

// insertRun inserts a queued run row for a key (no document: GC does not
// look at it).
func (h *harness) insertRun(cfg, spec, digest string) string {
	h.t.Helper()
	id := newID()
	err := h.st.Write(context.Background(), func(q *db.Queries) error {
		return q.InsertRun(context.Background(), db.InsertRunParams{ID: id, WorkspaceID: workspaceID, ConfigurationID: cfg,
			InputDocumentID: newID(), EngineSpec: spec, DepsDigest: digest, MaxAttempts: 3})
	})
	if err != nil {
		h.t.Fatalf("insert run: %v", err)
	}
	return id
}

func newID() string { return uuid.NewString() }

func writeFile(t testing.TB, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("x\n"), 0o755); err != nil {
		t.Fatal(err)
	}
}

func sameSet(got, want []string) bool {
	got = slices.Clone(got)
	slices.Sort(got)
	return slices.Equal(got, want)
}
