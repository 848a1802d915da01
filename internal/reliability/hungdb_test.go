//go:build unix

package reliability

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// holdLock starts testdata/holdlock on the fixture's database: another
// process (Python's SQLite, as the ADE API uses) takes the write lock and
// holds it for seconds. It returns once the lock is held; release kills
// the holder, which gives the lock back.
func (f *fixture) holdLock(seconds int) (release func()) {
	f.t.Helper()
	holder := exec.Command(realPython(f.t), filepath.Join("testdata", "holdlock"), f.dbPath, filepath.Join("testdata", "exclusive_lock.sql"), itoa(seconds))
	holder.Stderr = os.Stderr
	out, err := holder.StdoutPipe()
	if err != nil {
		f.t.Fatal(err)
	}
	if err := holder.Start(); err != nil {
		f.t.Fatal(err)
	}
	release = func() { _ = holder.Process.Kill(); _ = holder.Wait() }
	f.t.Cleanup(release)
	sc := bufio.NewScanner(out)
	if !sc.Scan() || !strings.HasPrefix(sc.Text(), "locked ") {
		f.t.Fatalf("lock holder did not take the lock: %q, %v", sc.Text(), sc.Err())
	}
	return release
}

// hungWorker starts a worker on two runs of an engine that runs for a few
// seconds, and once both engines have started, locks the database for a
// minute: the engines end, and the worker's acknowledgements (and
// heartbeats, and claims) wait for a database that does not answer.
func hungWorker(t *testing.T, f *fixture, lease string) (*workerProc, []string, func()) {
	t.Helper()
	ids := f.simpleRuns("cfg-hung", "sleeponce 4", 2)
	w := f.startWorker("hung", "ADE_WORKER_LEASE_SECONDS="+lease, "ADE_WORKER_SHUTDOWN_GRACE_SECONDS=0.5")
	for _, id := range ids {
		f.waitExecution(30*time.Second, "run-"+id)
	}
	release := f.holdLock(60)
	// Readers still read while the lock is held (WAL).
	for _, id := range ids {
		if r := f.run(id); r.Status != "running" {
			t.Fatalf("run %s is %s before its engine ended: the lock came too late", id, r.Status)
		}
	}
	f.waitFor(30*time.Second, "the engines to end", func() bool {
		n := 0
		for _, x := range f.executions() {
			if x.finished {
				n++
			}
		}
		return n == 2
	})
	// Let the acknowledgements reach the locked database.
	time.Sleep(300 * time.Millisecond)
	return w, ids, release
}

// checkLeftBehind checks that the worker said, on its way out, which runs
// it left and that their leases will expire.
func checkLeftBehind(t *testing.T, w *workerProc, ids []string) {
	t.Helper()
	out := w.raw()
	if !strings.Contains(out, "unfinished") || !strings.Contains(out, "will expire") {
		t.Errorf("the worker did not say what it left:\n%s", w.tail(10))
	}
	for _, id := range ids {
		if !strings.Contains(out, "run:"+id) {
			t.Errorf("the worker's last words do not name run %s:\n%s", id, w.tail(10))
		}
	}
}

// TestStopWithHungDatabase: a SIGTERM while the database does not answer
// (another process holds its write lock) stops the worker within a bound:
// the grace period, then one bounded wait for the acknowledgements, then
// exit 1, naming the runs whose claims it could not give back. Once the
// database answers again those leases expire and another worker runs the
// runs.
func TestStopWithHungDatabase(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	w, ids, release := hungWorker(t, f, "8")
	stopped := time.Now()
	w.signal(syscall.SIGTERM)
	// grace 0.5 s + at most 10 s for the acknowledgements, and a margin
	// for a loaded machine.
	code := w.wait(t, 25*time.Second)
	took := time.Since(stopped)
	if code != 1 {
		t.Fatalf("worker exited %d after SIGTERM with a hung database, want 1:\n%s", code, w.tail(20))
	}
	checkLeftBehind(t, w, ids)
	t.Logf("exited %d %s after SIGTERM with the database locked", code, took.Round(time.Millisecond))

	release()
	successor := f.startWorker("successor", "ADE_WORKER_LEASE_SECONDS=8")
	f.waitTerminal(60*time.Second, ids...)
	for _, id := range ids {
		if r := f.run(id); r.Status != "succeeded" || r.ClaimedBy.String != "successor" {
			t.Errorf("run %s: %s by %s (%q); want succeeded by the successor once the lease expired", id, r.Status, r.ClaimedBy.String, r.ErrorMessage.String)
		}
	}
	successor.stop(t)
}

// TestSecondSignalExitsAtOnce: with the database hung, a second SIGTERM
// does not wait out the acknowledgements: the worker exits 1 within about
// two seconds, naming what it left.
func TestSecondSignalExitsAtOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	w, ids, _ := hungWorker(t, f, "60")
	w.signal(syscall.SIGTERM)
	time.Sleep(200 * time.Millisecond)
	second := time.Now()
	w.signal(syscall.SIGTERM)
	// At most stopNowWait (2 s) after the second signal, and a margin.
	code := w.wait(t, 10*time.Second)
	took := time.Since(second)
	if code != 1 {
		t.Fatalf("worker exited %d after a second SIGTERM, want 1:\n%s", code, w.tail(20))
	}
	checkLeftBehind(t, w, ids)
	t.Logf("exited %d %s after the second SIGTERM; last words:\n%s", code, took.Round(time.Millisecond), w.tail(3))
}
