package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/ade-dev/ade-worker/gen/db"
	"github.com/ade-dev/ade-worker/internal/store/storetest"
)

// A claim locks the run it claims, not the queued runs its seek walked past.
// 6,000 runs wait, oldest first, on an environment that is not ready (a bulk
// submission for a new dependency key), ahead of one run whose environment
// is ready. Picking the candidate under UPDLOCK left every one of the 6,000
// locked until the claim's transaction ended, past the 5,000 locks at which
// SQL Server escalates to a lock on the whole runs table.
func TestClaimLocksOnlyTheClaimedRun(t *testing.T) {
	s := storetest.MSSQL(t)
	storetest.SkipOnBabelfish(t, s, "row locks from table hints and sys.dm_tran_locks")
	ctx := context.Background()
	enqueue(t, s, "ready-run", keyA, 3, time.Hour)
	readyEnvs(t, s, time.Hour)
	if err := s.Write(ctx, func(q *db.Queries) error {
		for i := range 6000 {
			if err := q.InsertRun(ctx, db.InsertRunParams{
				ID: fmt.Sprintf("waiting-%04d", i), WorkspaceID: keyB.ws, ConfigurationID: keyB.cfg,
				InputDocumentID: "doc", EngineSpec: keyB.spec, DepsDigest: keyB.digest, MaxAttempts: 3,
				Now: at(time.Duration(i) * time.Millisecond),
			}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	tx, err := s.DB().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	row, err := db.NewMSSQL(tx).ClaimRun(ctx, db.ClaimRunParams{WorkerID: ns(worker), Now: at(2 * time.Hour), LeaseSeconds: 60})
	if err != nil || row.ID != "ready-run" {
		t.Fatalf("claim = %q, %v; want ready-run", row.ID, err)
	}
	locks := sessionLocks(t, tx, "runs")
	// The claimed run's key in the clustered index and in the indexes its
	// update moved (ix_runs_claim, ix_runs_status_key, ix_runs_lease): a
	// handful, never thousands, and none left in update mode.
	if locks.rows > 20 || locks.update > 0 || locks.table > 0 {
		t.Fatalf("one claim holds %+v on runs; want only the claimed run's row locks", locks)
	}
}

// A sweep of the runs of failed environments locks the runs it fails: two
// failed environments with 3,000 waiting runs each are swept 500 runs at a
// time, and no waiting run it leaves stays locked (in update mode) until
// the sweep's transaction ends. Ordered by created_at across both
// environments, the sweep read, locked and sorted all 6,000.
func TestFailRunsOfFailedEnvironmentsLocksOnlyWhatItFails(t *testing.T) {
	s := storetest.MSSQL(t)
	storetest.SkipOnBabelfish(t, s, "row locks from table hints and sys.dm_tran_locks")
	ctx := context.Background()
	failEnvironmentsWithWaitingRuns(t, s, 3000)
	tx, err := s.DB().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	rows, err := db.NewMSSQL(tx).FailRunsOfFailedEnvironments(ctx, at(time.Hour))
	if err != nil || len(rows) != 500 {
		t.Fatalf("FailRunsOfFailedEnvironments failed %d runs, %v; want 500", len(rows), err)
	}
	if locks := sessionLocks(t, tx, "runs"); locks.update > 0 || locks.table > 0 {
		t.Fatalf("the sweep holds %+v on runs; want no run it left locked and no table lock", locks)
	}
}

// lockCounts are the locks a session holds on one table (session_locks.sql).
type lockCounts struct{ rows, update, table int }

func sessionLocks(t *testing.T, tx *sql.Tx, table string) lockCounts {
	t.Helper()
	var c lockCounts
	text, err := testdata.ReadFile("testdata/mssql/session_locks.sql")
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.QueryRowContext(context.Background(), string(text), table).Scan(&c.rows, &c.update, &c.table); err != nil {
		t.Fatalf("read the session's locks: %v", err)
	}
	return c
}
