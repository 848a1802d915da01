package app

import (
	"context"
	"database/sql"
	_ "embed"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/ade-dev/ade-worker/gen/db"
	"github.com/ade-dev/ade-worker/internal/config"
	"github.com/ade-dev/ade-worker/internal/dbtime"
	"github.com/ade-dev/ade-worker/internal/store"
	"github.com/ade-dev/ade-worker/internal/store/storetest"
)

var (
	//go:embed testdata/mssql/hold_environment.sql
	holdEnvironmentSQL string
	//go:embed testdata/mssql/probe_environment.sql
	probeEnvironmentSQL string
)

// One claim transaction marks the environments of its runs used in key
// order, not in the order its runs came: two workers whose runs came in
// opposite orders would otherwise lock E1 then E2 and E2 then E1, and
// deadlock. Here the older run needs E2 and the newer E1, and E1 is held by
// another transaction while the claim runs: the claim must wait for E1
// without holding E2 (a third session can still update E2 meanwhile).
func TestClaimRunsMarksEnvironmentsUsedInKeyOrder(t *testing.T) {
	st := storetest.MSSQL(t)
	ctx := context.Background()
	w := mssqlClaimWorker(t, st)
	// key 1 sorts first; its run is the newer one.
	for _, r := range []struct {
		id, digest string
		age        time.Duration
	}{{"run-e2", "sha256:2", 2 * time.Minute}, {"run-e1", "sha256:1", time.Minute}} {
		if err := st.Write(ctx, func(q *db.Queries) error {
			return q.InsertRun(ctx, db.InsertRunParams{ID: r.id, WorkspaceID: "ws", ConfigurationID: "cfg",
				InputDocumentID: "doc-" + r.id, EngineSpec: "ade-engine", DepsDigest: r.digest, MaxAttempts: 3,
				Now: dbtime.From(time.Now().Add(-r.age))})
		}); err != nil {
			t.Fatal(err)
		}
	}
	envs := readyAll(t, st)
	e1, e2 := envs["sha256:1"], envs["sha256:2"]

	holder := storetest.Reopen(t, st, store.Options{PoolSize: 1})
	tx, err := holder.DB().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, holdEnvironmentSQL, e1); err != nil {
		t.Fatalf("hold environment 1: %v", err)
	}

	type result struct {
		cs  []claimed
		err error
	}
	done := make(chan result, 1)
	go func() {
		cs, err := w.claimRuns(ctx, 2)
		done <- result{cs, err}
	}()

	prober := storetest.Reopen(t, st, store.Options{PoolSize: 1})
	conn, err := prober.DB().Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for end := time.Now().Add(4 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if _, err := conn.ExecContext(ctx, probeEnvironmentSQL, e2); err != nil {
			t.Fatalf("environment 2 was locked while the claim waited for environment 1: %v", err)
		}
		select {
		case r := <-done:
			t.Fatalf("the claim ended (%d claims, %v) while environment 1 was held; it should have waited for it", len(r.cs), r.err)
		default:
		}
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	r := <-done
	var ids []string
	for _, c := range r.cs {
		if c.run != nil {
			ids = append(ids, c.run.ID)
		}
	}
	slices.Sort(ids)
	if r.err != nil || !slices.Equal(ids, []string{"run-e1", "run-e2"}) {
		t.Fatalf("claimRuns = %v, %v; want both runs", ids, r.err)
	}
}

// mssqlClaimWorker is a worker on st that is never started: the tests call
// its claim directly.
func mssqlClaimWorker(t *testing.T, st *store.Store) *Worker {
	t.Helper()
	dir := t.TempDir()
	cfg, err := config.Load([]string{"ADE_WORKER_DATA_DIR=" + filepath.Join(dir, "data"), "ADE_WORKER_ID=claimer",
		"ADE_WORKER_CONCURRENCY=2", "ADE_WORKER_ENABLE_GC=0"})
	if err != nil {
		t.Fatal(err)
	}
	w, err := New(cfg, st, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Environ: os.Environ()})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// readyAll ensures, builds (on paper) and marks ready the environment of
// every queued key, and returns their ids by deps digest.
func readyAll(t *testing.T, st *store.Store) map[string]string {
	t.Helper()
	ctx := context.Background()
	ids := map[string]string{}
	err := st.Write(ctx, func(q *db.Queries) error {
		if _, err := q.EnsureEnvironments(ctx, nil); err != nil {
			return err
		}
		for {
			env, err := q.ClaimEnvironment(ctx, db.ClaimEnvironmentParams{WorkerID: nsv("setup"), LeaseSeconds: 60})
			if errors.Is(err, sql.ErrNoRows) {
				return nil
			}
			if err != nil {
				return err
			}
			ids[env.DepsDigest] = env.ID
			if _, err := q.MarkEnvironmentReady(ctx, db.MarkEnvironmentReadyParams{PythonVersion: nsv("3"),
				PythonInterpreter: nsv("/bin/true"), EngineVersion: nsv("test"), ID: env.ID, WorkerID: nsv("setup"),
				AttemptCount: env.AttemptCount}); err != nil {
				return err
			}
		}
	})
	if err != nil {
		t.Fatalf("ready the environments: %v", err)
	}
	return ids
}
