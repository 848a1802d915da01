package app

import (
	"context"
	_ "embed"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

//go:embed testdata/sqlite/unready_environment_on_claim.sql
var unreadyEnvironmentOnClaimSQL string

// A claim of several runs that finds a run's environment no longer ready
// (on SQL Server another session can change it between the claim's
// statements; here a trigger does) is rolled back whole and made again one
// run at a time, which gives that run back: every run stays queued with its
// attempt unspent, no job is started, and no error reaches the loop.
func TestClaimRunsGivesBackARunWhoseEnvironmentStoppedBeingReady(t *testing.T) {
	ctx := context.Background()
	w, st, e := benchWorker(t, "/bin/true", "ADE_WORKER_CONCURRENCY=4")
	if err := benchEnqueue(ctx, st, e, 2, true); err != nil {
		t.Fatal(err)
	}
	if _, err := st.DB().ExecContext(ctx, unreadyEnvironmentOnClaimSQL); err != nil {
		t.Fatal(err)
	}
	cs, err := w.claimRuns(ctx, 3)
	if err != nil || len(cs) != 0 {
		t.Fatalf("claimRuns = %d claims, %v; want none and no error", len(cs), err)
	}
	if n := testutil.ToFloat64(w.metrics.RunsClaimed); n != 0 {
		t.Errorf("%v runs counted as claimed, want 0", n)
	}
	runs, err := st.Queries().CountRunsByStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 || runs[0].Status != "queued" || runs[0].Count != 3 {
		t.Errorf("runs by status = %+v; want all 3 queued", runs)
	}
	got, err := st.Queries().GetRun(ctx, e.RunID)
	if err != nil {
		t.Fatal(err)
	}
	if got.AttemptCount != 0 || got.ClaimedBy.Valid || got.ClaimExpiresAt.Valid {
		t.Errorf("first run after the claims: attempt %d, claimed_by %v, lease %v; want attempt 0 and no claim",
			got.AttemptCount, got.ClaimedBy, got.ClaimExpiresAt)
	}
}
