package reliability

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// escapedPid waits for the pid of the process a run's engine started with
// setsid (fakepython's escape mode).
func (f *fixture) escapedPid(runID string) int {
	f.t.Helper()
	path := filepath.Join(f.dataDir, "workspaces", testWorkspace, "runs", runID, "output", "escaped.pid")
	var pid int
	f.waitFor(30*time.Second, "the engine's escaped child", func() bool {
		b, err := os.ReadFile(path)
		if err != nil {
			return false
		}
		pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil
	})
	f.t.Cleanup(func() {
		if pidAlive(pid) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	return pid
}

// TestEscapedProcessEndsWithItsRun: an engine's child that left the run's
// process group and session (setsid) is ended when the run ends, because
// the worker is its subreaper; the run's outcome is unaffected.
func TestEscapedProcessEndsWithItsRun(t *testing.T) {
	f := newFixture(t)
	runID := f.simpleRuns("cfg-escape", "escape 0.2", 1)[0]
	w := f.startWorker("adopter")
	escaped := f.escapedPid(runID)
	f.waitTerminal(30*time.Second, runID)
	if r := f.run(runID); r.Status != "succeeded" {
		t.Fatalf("run %s: %s", r.Status, r.ErrorMessage.String)
	}
	f.waitDead(5*time.Second, escaped, "the escaped child")
	w.stop(t)
}

// TestEscapedProcessEndsOnShutdown: SIGTERM with a run in flight and no
// grace period ends the engine's escaped child too.
func TestEscapedProcessEndsOnShutdown(t *testing.T) {
	f := newFixture(t)
	runID := f.simpleRuns("cfg-escape-stop", "escape 60", 1)[0]
	w := f.startWorker("stopping", "ADE_WORKER_SHUTDOWN_GRACE_SECONDS=0")
	escaped := f.escapedPid(runID)
	w.signal(syscall.SIGTERM)
	if code := w.wait(t, 15*time.Second); code != 0 {
		t.Fatalf("worker exited %d after SIGTERM:\n%s", code, w.tail(20))
	}
	f.waitDead(5*time.Second, escaped, "the escaped child")
}
