package app_test

// Failing and hanging engines: retries with backoff, and the run timeout.

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ade-dev/ade-worker/gen/db"
	"github.com/ade-dev/ade-worker/internal/enqueue"
	"github.com/ade-dev/ade-worker/internal/store"
	"github.com/ade-dev/ade-worker/internal/store/storetest"
)

// TestEngineFailureIsRetriedWithBackoff runs an engine that always fails:
// the run goes back to the queue with a growing backoff that the next claim
// honours, then fails for good with attempt_count == max_attempts, the exit
// code and the engine's complaint.
func TestEngineFailureIsRetriedWithBackoff(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		const base = 400 * time.Millisecond
		h := newHarness(t, st, "ADE_WORKER_BACKOFF_BASE_SECONDS=0.4")
		e := h.enqueue("members.csv", nil)
		engine := h.fakeEngine("failing-engine", `echo "fake engine: cannot read members.csv" >&2
exit 3`)
		h.readyEnvironment(engine)
		h.drain(h.worker())

		if calls := h.calls("failing-engine"); len(calls) != 3 {
			t.Errorf("the engine was started %d times, want 3 (max_attempts)", len(calls))
		}
		run := h.run(e.RunID)
		if run.Status != "failed" || run.AttemptCount != 3 || run.MaxAttempts != 3 || !run.CompletedAt.Valid ||
			!run.ExitCode.Valid || run.ExitCode.Int64 != 3 || run.ClaimExpiresAt.Valid {
			t.Errorf("run row = %+v; want failed after 3 of 3 attempts with exit code 3", run)
		}
		if msg := run.ErrorMessage.String; !strings.Contains(msg, "exited with code 3") || !strings.Contains(msg, "cannot read members.csv") {
			t.Errorf("error_message = %q; want the exit code and the engine's stderr", msg)
		}

		evs := h.runEvents(e.RunID)
		if got := workerEvents(evs, "run."); !slices.Equal(got, []string{
			"run.start", "run.engine.start", "run.retry",
			"run.start", "run.engine.start", "run.retry",
			"run.start", "run.engine.start", "run.complete",
		}) {
			t.Fatalf("worker events = %q", got)
		}
		stderr := named(evs, "run.stderr")
		if len(stderr) != 3 || stderr[0].Message != "fake engine: cannot read members.csv" || stderr[0].Context["run_id"] != e.RunID {
			t.Errorf("run.stderr events = %v; want the engine's line once per attempt, with the run's context", stderr)
		}
		// Event timestamps come from this host's clock and available_at from
		// the database's: one clock for SQLite (and a SQL Server on this host).
		starts, retries := named(evs, "run.start"), named(evs, "run.retry")
		for i, retry := range retries {
			if retry.Data["attempt"] != float64(i+1) || retry.Data["exit_code"] != float64(3) {
				t.Errorf("run.retry %d data = %v", i+1, retry.Data)
			}
			due := parseDBTime(t, retry.Data["available_at"].(string))
			backoff := base << i
			// The attempt started before it failed, so its start plus the
			// backoff is a lower bound for when the run is due again.
			if earliest := starts[i].time(t).Add(backoff); due.Before(earliest.Add(-time.Millisecond)) {
				t.Errorf("attempt %d: available_at %s is less than the backoff %s after the attempt started (%s)", i+1, due, backoff, starts[i].Timestamp)
			}
			if next := starts[i+1].time(t); next.Before(due) {
				t.Errorf("attempt %d started at %s, before the run was due at %s", i+2, next, due)
			}
		}
		done := evs[len(evs)-1]
		if done.Data["status"] != "failed" || done.Data["exit_code"] != float64(3) || done.Data["error"] != run.ErrorMessage.String {
			t.Errorf("run.complete data = %v", done.Data)
		}
	})
}

// TestRunTimeoutStopsTheProcessTree runs an engine that ignores SIGTERM and
// starts a grandchild: the timeout stops them all, the run fails with exit
// code 124, and no process of the tree is left.
func TestRunTimeoutStopsTheProcessTree(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		h := newHarness(t, st, "ADE_WORKER_RUN_TIMEOUT_SECONDS=2")
		e := h.enqueue("members.csv", func(r *enqueue.Request) { r.MaxAttempts = 1 })
		engine := h.fakeEngine("hanging-engine", `sleep 300 &
echo $! > "$DIR/grandchild.pid"
echo $$ > "$DIR/child.pid"
trap '' TERM
while :; do sleep 1; done`)
		h.readyEnvironment(engine)
		h.drain(h.worker())

		run := h.run(e.RunID)
		if run.Status != "failed" || run.AttemptCount != 1 || !run.ExitCode.Valid || run.ExitCode.Int64 != 124 {
			t.Errorf("run row = %+v; want failed with exit code 124", run)
		}
		if !strings.Contains(run.ErrorMessage.String, "timed out") {
			t.Errorf("error_message = %q; want it to say the run timed out", run.ErrorMessage.String)
		}
		for _, name := range []string{"child.pid", "grandchild.pid"} {
			pid := readPid(t, filepath.Join(h.dir, name))
			h.waitFor(name+" to be gone", func() bool { return !alive(pid) })
		}
		evs := h.runEvents(e.RunID)
		done := named(evs, "run.complete")
		if len(done) != 1 || done[0].Data["exit_code"] != float64(124) || done[0].Data["status"] != "failed" {
			t.Errorf("run.complete = %v", done)
		}
	})
}

// TestBackoffFollowsTheClock runs a failing engine under backoffs of five
// and ten minutes, with the worker's clock (Options.Clock) moved forward
// by the test instead of waited out: a retry is claimed only once the
// clock has reached its available_at, and the whole series takes seconds.
func TestBackoffFollowsTheClock(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		h := newHarness(t, st, "ADE_WORKER_BACKOFF_BASE_SECONDS=300", "ADE_WORKER_BACKOFF_MAX_SECONDS=3600")
		e := h.enqueue("members.csv", nil)
		h.readyEnvironment(h.fakeEngine("failing-engine", "exit 3"))
		var now atomic.Int64
		now.Store(time.Now().UnixNano())
		clock := func() time.Time { return time.Unix(0, now.Load()) }
		h.start(h.workerAt(clock))

		queuedAfter := func(attempts int64) db.Run {
			return h.waitRun(e.RunID, fmt.Sprintf("attempt %d to fail and the run to wait", attempts), func(r db.Run) bool {
				return r.Status == "queued" && r.AttemptCount == attempts
			})
		}
		for i, backoff := range []time.Duration{300 * time.Second, 600 * time.Second} {
			run := queuedAfter(int64(i + 1))
			if wait := run.AvailableAt.Time.Sub(clock()); wait < backoff-time.Second || wait > backoff+time.Second {
				t.Fatalf("after attempt %d the run waits %s by the worker's clock, want %s", i+1, wait, backoff)
			}
			// The worker polls every 50-200 ms: long enough to see it wait.
			time.Sleep(time.Second)
			if calls := len(h.calls("failing-engine")); calls != i+1 {
				t.Fatalf("the engine ran %d times before the clock reached the backoff's end, want %d", calls, i+1)
			}
			now.Add(int64(backoff + time.Second))
		}
		run := h.waitRun(e.RunID, "the third attempt to fail the run", func(r db.Run) bool { return r.Status == "failed" })
		if run.AttemptCount != 3 || len(h.calls("failing-engine")) != 3 {
			t.Errorf("run %+v after %d engine runs; want failed after 3 attempts", run, len(h.calls("failing-engine")))
		}
	})
}
