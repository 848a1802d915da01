//go:build linux

package reliability

import (
	"os"
	"testing"
	"time"

	"github.com/ade-dev/ade-worker/internal/store/storetest"
)

// newMSSQLFixture is newFixture with the workers on the live T-SQL database
// of ADE_TEST_MSSQL_URL (emptied and migrated) instead of a SQLite file; the
// test is skipped, saying so, when it is not set.
func newMSSQLFixture(t *testing.T) *fixture {
	t.Helper()
	st := storetest.MSSQL(t)
	f := newFixture(t)
	f.st, f.q, f.url = st, st.Queries(), os.Getenv(storetest.MSSQLEnv)
	return f
}

// TestCrashMidRunOnTSQL is TestCrashMidRun with both workers on a T-SQL
// database: the killed worker's lease expires there, and the other worker
// takes the run over on attempt 2.
func TestCrashMidRunOnTSQL(t *testing.T) {
	crashMidRun(t, newMSSQLFixture(t))
}

// TestTwoWorkersShareATSQLDatabase: two worker processes on one T-SQL
// database process 40 runs of a fast engine. Every run succeeds once, with
// one execution per attempt, and no two executions of a run overlap.
func TestTwoWorkersShareATSQLDatabase(t *testing.T) {
	f := newMSSQLFixture(t)
	const runs = 40
	ids := f.simpleRuns("cfg-tsql", "ok", runs)
	start := time.Now()
	workers := []*workerProc{f.startWorker("tsql-1"), f.startWorker("tsql-2")}
	f.waitTerminal(3*time.Minute, ids...)
	t.Logf("%d runs on %d workers in %s", runs, len(workers), time.Since(start).Round(time.Millisecond))
	for _, w := range workers {
		if !w.alive() {
			t.Fatalf("worker %s died:\n%s", w.id, w.tail(30))
		}
		w.stop(t)
	}
	perWorker := map[string]int{}
	byRun := f.executionsByRun()
	for _, id := range ids {
		r := f.run(id)
		if r.Status != "succeeded" || r.ClaimExpiresAt.Valid {
			t.Errorf("run %s: status %s, lease %v, error %q", id, r.Status, r.ClaimExpiresAt, r.ErrorMessage.String)
		}
		if xs := byRun[id]; int64(len(xs)) != r.AttemptCount {
			t.Errorf("run %s: %d executions for attempt_count %d; worker log:\n%s", id, len(xs), r.AttemptCount, grepLogs(workers, id))
		}
		perWorker[r.ClaimedBy.String]++
	}
	f.checkNoOverlap(ids)
	t.Logf("runs per worker: %v", perWorker)
}
