package app

import (
	"context"
	"database/sql"
	_ "embed"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ade-dev/ade-worker/gen/db"
	"github.com/ade-dev/ade-worker/internal/store"
	"github.com/ade-dev/ade-worker/internal/store/storetest"
)

var (
	//go:embed testdata/mssql/blocked_by.sql
	blockedBySQL string
	//go:embed testdata/mssql/lock_row.sql
	lockRowSQL string
	//go:embed testdata/mssql/insert_environment.sql
	insertEnvironmentSQL string
	//go:embed testdata/mssql/lock_timeout.sql
	lockTimeoutSQL string
)

// The key-range locks EnsureEnvironments takes (UPDLOCK, HOLDLOCK on the
// missing key) end with its own transaction: RetryFailedEnvironments runs in
// a transaction of its own after it. In one transaction, a RetryFailed that
// waited (here on a failed environment another session holds) kept the
// range locked, and every insert into that range (an environment the API
// or another worker ensures) waited with it.
func TestEnsureReleasesItsRangeLocksBeforeRetryingFailedEnvironments(t *testing.T) {
	st := storetest.MSSQL(t)
	storetest.SkipOnBabelfish(t, st, "key-range locks (HOLDLOCK) and sys.dm_exec_requests")
	ctx := context.Background()
	w := mssqlClaimWorker(t, st)
	failed := uuid.NewString()
	if _, err := st.DB().ExecContext(ctx, insertEnvironmentSQL, sql.Named("id", failed), sql.Named("workspace_id", "ws"),
		sql.Named("configuration_id", "cfg"), sql.Named("engine_spec", "ade-engine"), sql.Named("deps_digest", "sha256:f"),
		sql.Named("status", "failed"), sql.Named("updated_days_ago", 1.0), sql.Named("last_used_days_ago", sql.NullFloat64{}),
		sql.Named("python_interpreter", sql.NullString{})); err != nil {
		t.Fatal(err)
	}
	// A run queued after the failure (RetryFailedEnvironments wants the
	// failed environment back) and one of a key with no environment yet
	// (EnsureEnvironments inserts it, range-locking the end of the key index).
	for _, digest := range []string{"sha256:f", "sha256:n"} {
		if err := st.Write(ctx, func(q *db.Queries) error {
			return q.InsertRun(ctx, db.InsertRunParams{ID: uuid.NewString(), WorkspaceID: "ws", ConfigurationID: "cfg",
				InputDocumentID: "doc", EngineSpec: "ade-engine", DepsDigest: digest, MaxAttempts: 3})
		}); err != nil {
			t.Fatal(err)
		}
	}

	holder := storetest.Reopen(t, st, store.Options{PoolSize: 1})
	tx, err := holder.DB().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	var spid int
	if err := tx.QueryRowContext(ctx, lockRowSQL, failed).Scan(&spid); err != nil {
		t.Fatalf("lock the failed environment: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- w.ensureEnvironments(ctx) }()
	waitBlocked(t, st, spid, done)

	prober := storetest.Reopen(t, st, store.Options{PoolSize: 1})
	conn, err := prober.DB().Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, lockTimeoutSQL); err != nil {
		t.Fatal(err)
	}
	_, err = conn.ExecContext(ctx, insertEnvironmentSQL, sql.Named("id", uuid.NewString()), sql.Named("workspace_id", "ws"),
		sql.Named("configuration_id", "cfg"), sql.Named("engine_spec", "ade-engine"), sql.Named("deps_digest", "sha256:z"),
		sql.Named("status", "queued"), sql.Named("updated_days_ago", 0.0), sql.Named("last_used_days_ago", sql.NullFloat64{}),
		sql.Named("python_interpreter", sql.NullString{}))
	if err != nil {
		t.Fatalf("an environment insert waited on the key range EnsureEnvironments locked while RetryFailedEnvironments waited: %v", err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("ensureEnvironments: %v", err)
	}
}

// waitBlocked waits until session spid blocks another request (the one of
// done), failing the test if done ends first or nothing blocks within 30s.
func waitBlocked(t *testing.T, st *store.Store, spid int, done chan error) {
	t.Helper()
	for end := time.Now().Add(30 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		select {
		case err := <-done:
			t.Fatalf("ensureEnvironments ended (%v) without waiting on the held environment", err)
		default:
		}
		var n int
		if err := st.DB().QueryRowContext(context.Background(), blockedBySQL, spid).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
	}
	t.Fatal("ensureEnvironments never waited on the held environment")
}
