//go:build linux

// The crash tests need the parent-death signal, which only Linux has: on
// macOS an engine outlives a worker killed with SIGKILL (see the README).

package reliability

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// waitDead waits until pid has exited, and fails the test if it outlives
// timeout.
func (f *fixture) waitDead(timeout time.Duration, pid int, what string) {
	f.t.Helper()
	f.waitFor(timeout, what+" (pid "+itoa(pid)+") to die with its worker", func() bool { return !pidAlive(pid) })
}

// TestCrashMidRun: a worker killed with SIGKILL in the middle of a run takes
// its engine with it (parent-death signal), and another worker takes the
// run over once the lease has expired, finishing it on attempt 2 without
// the two executions ever overlapping.
func TestCrashMidRun(t *testing.T) {
	crashMidRun(t, newFixture(t))
}

func crashMidRun(t *testing.T, f *fixture) {
	runID := f.simpleRuns("cfg-crash", "sleeponce 60", 1)[0]

	a := f.startWorker("victim")
	first := f.waitExecution(30*time.Second, "run-"+runID)
	b := f.startWorker("survivor")

	killed := time.Now()
	a.signal(syscall.SIGKILL)
	if code := a.wait(t, 10*time.Second); code != -1 {
		t.Fatalf("victim exited %d, want killed", code)
	}
	f.waitDead(5*time.Second, first.pid, "the engine")
	t.Logf("engine died %s after its worker", time.Since(killed).Round(time.Millisecond))

	f.waitTerminal(30*time.Second, runID)
	r := f.run(runID)
	if r.Status != "succeeded" || r.AttemptCount != 2 || r.ClaimedBy.String != "survivor" {
		t.Fatalf("run: status %s, attempt_count %d, claimed_by %s, error %q; want succeeded on attempt 2 by survivor",
			r.Status, r.AttemptCount, r.ClaimedBy.String, r.ErrorMessage.String)
	}
	xs := f.executions()
	if len(xs) != 2 {
		t.Fatalf("%d executions, want 2", len(xs))
	}
	if xs[0].finished {
		t.Error("the killed worker's engine finished its run")
	}
	if !xs[1].start.After(xs[0].end) {
		t.Errorf("attempt 2 started %s, before attempt 1 stopped at %s", xs[1].start.Format(time.StampMilli), xs[0].end.Format(time.StampMilli))
	}
	t.Logf("attempt 2 started %s after the kill (lease 3 s)", xs[1].start.Sub(killed).Round(time.Millisecond))
	if !hasEvent(f.runEvents(testWorkspace, runID), "run.retry") {
		t.Error("no run.retry event for the expired lease")
	}
	if !b.logged("run lease expired", map[string]any{"run_id": runID}) {
		t.Error("survivor did not log the expired lease")
	}
	b.stop(t)
}

// TestCrashMidBuild: a worker killed in the middle of an environment build
// takes the build's subprocess with it; another worker claims the
// environment again after its lease expired, builds it and runs the run.
func TestCrashMidBuild(t *testing.T) {
	f := newFixture(t)
	const cfg = "cfg-build-crash"
	f.configPackage(testWorkspace, cfg, "ok")
	// A pip requirement rather than a folder: fakepython's pip installs it.
	runID := f.queueRun(runSpec{cfg: cfg, engineSpec: "ade-engine==0.0.0"})
	slow := filepath.Join(f.markers, "slow-build")
	if err := os.WriteFile(slow, nil, 0o644); err != nil {
		t.Fatal(err)
	}

	a := f.startWorker("builder")
	build := f.waitExecution(30*time.Second, "build")
	b := f.startWorker("rebuilder")

	killed := time.Now()
	a.signal(syscall.SIGKILL)
	a.wait(t, 10*time.Second)
	f.waitDead(5*time.Second, build.pid, "the build step")
	if err := os.Remove(slow); err != nil {
		t.Fatal(err)
	}

	f.waitTerminal(30*time.Second, runID)
	if r := f.run(runID); r.Status != "succeeded" || r.AttemptCount != 1 {
		t.Fatalf("run: status %s, attempt_count %d, error %q", r.Status, r.AttemptCount, r.ErrorMessage.String)
	}
	var builds []execution
	for _, x := range f.executions() {
		if x.name == "build" {
			builds = append(builds, x)
		}
	}
	if len(builds) != 2 || builds[0].finished || !builds[1].finished {
		t.Fatalf("builds %+v: want the killed one unfinished, then one finished", builds)
	}
	if !builds[1].start.After(builds[0].end) {
		t.Errorf("second build started before the first stopped")
	}
	t.Logf("second build started %s after the kill (lease 3 s)", builds[1].start.Sub(killed).Round(time.Millisecond))
	if !b.logged("environment build lease expired; requeued", nil) {
		t.Error("rebuilder did not log the expired build lease")
	}
	if !b.logged("environment ready", nil) {
		t.Error("rebuilder did not build the environment")
	}
	b.stop(t)
}
