//go:build unix

package reliability

import (
	"syscall"
	"testing"
	"time"
)

// TestGracefulStopReleasesRun: SIGTERM with a run in flight and no grace
// period stops the engine, gives the run back at once without spending its
// attempt, and exits 0; a second worker picks the run up within seconds,
// long before the (30 s) lease would have expired.
func TestGracefulStopReleasesRun(t *testing.T) {
	f := newFixture(t)
	runID := f.simpleRuns("cfg-stop", "sleeponce 60", 1)[0]
	long := []string{"ADE_WORKER_LEASE_SECONDS=30", "ADE_WORKER_SHUTDOWN_GRACE_SECONDS=0"}

	a := f.startWorker("stopping", long...)
	first := f.waitExecution(30*time.Second, "run-"+runID)
	// The successor runs idle beside it; it cannot claim the run until the
	// run is released.
	b := f.startWorker("successor", long...)

	stopped := time.Now()
	a.signal(syscall.SIGTERM)
	if code := a.wait(t, 15*time.Second); code != 0 {
		t.Fatalf("worker exited %d after SIGTERM:\n%s", code, a.tail(20))
	}
	t.Logf("worker exited %s after SIGTERM", time.Since(stopped).Round(time.Millisecond))
	if pidAlive(first.pid) {
		t.Fatalf("engine pid %d outlived its stopped worker", first.pid)
	}
	if !a.logged("run released without spending its attempt", map[string]any{"run_id": runID}) {
		t.Errorf("stopping worker did not log the release:\n%s", a.tail(20))
	}
	if !hasEvent(f.runEvents(testWorkspace, runID), "run.released") {
		t.Error("no run.released event")
	}

	f.waitTerminal(20*time.Second, runID)
	r := f.run(runID)
	if r.Status != "succeeded" || r.AttemptCount != 1 || r.ClaimedBy.String != "successor" {
		t.Fatalf("run: status %s, attempt_count %d, claimed_by %s; want succeeded on attempt 1 by successor", r.Status, r.AttemptCount, r.ClaimedBy.String)
	}
	xs := f.executions()
	if len(xs) != 2 || xs[0].finished || !xs[1].start.After(xs[0].end) {
		t.Fatalf("executions %+v: want the stopped one, then one after it", xs)
	}
	// attempt_count 1 on the successor's claim proves the release gave
	// the attempt back; the time proves it did not wait for the lease.
	if took := xs[1].start.Sub(stopped); took > 10*time.Second {
		t.Errorf("successor took %s to start the released run", took)
	} else {
		t.Logf("successor started the released run %s after the SIGTERM", took.Round(time.Millisecond))
	}
	b.stop(t)
}
