package store_test

import (
	"context"
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
	var rowLocks, tableLocks int
	if err := tx.QueryRowContext(ctx, dialectSQL(t, s, "session_locks"), "runs").Scan(&rowLocks, &tableLocks); err != nil {
		t.Fatalf("read the session's locks: %v", err)
	}
	// The claimed run's key in the clustered index and in the indexes its
	// update moved (ix_runs_claim, ix_runs_status_key, ix_runs_lease): a
	// handful, never thousands.
	if rowLocks > 20 || tableLocks > 0 {
		t.Fatalf("one claim holds %d row locks and %d table locks on runs; want only the claimed run's", rowLocks, tableLocks)
	}
}
