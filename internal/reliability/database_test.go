//go:build unix

package reliability

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestDatabaseLockedByAnotherProcess: another process (Python's SQLite, as
// the ADE API uses) holds an exclusive lock on the database for 10 s while
// runs are in flight. The worker waits it out and says so in its log; no
// run fails, none takes a second attempt, and none completes while the lock
// is held.
func TestDatabaseLockedByAnotherProcess(t *testing.T) {
	f := newFixture(t)
	ids := f.simpleRuns("cfg-locked", "sleep 1", 12)
	w := f.startWorker("patient", "ADE_WORKER_LEASE_SECONDS=30")
	f.waitFor(30*time.Second, "two runs to succeed", func() bool {
		n := 0
		for _, id := range ids {
			if f.run(id).Status == "succeeded" {
				n++
			}
		}
		return n >= 2
	})

	holder := exec.Command(realPython(t), filepath.Join("testdata", "holdlock"), f.dbPath, filepath.Join("testdata", "exclusive_lock.sql"), "10")
	holder.Stderr = os.Stderr
	out, err := holder.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = holder.Process.Kill(); _ = holder.Wait() })
	times := map[string]time.Time{}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		what, ns, _ := strings.Cut(sc.Text(), " ")
		n, _ := strconv.ParseInt(ns, 10, 64)
		times[what] = time.Unix(0, n)
	}
	if err := holder.Wait(); err != nil || times["locked"].IsZero() || times["released"].IsZero() {
		t.Fatalf("lock holder: %v, %v", err, times)
	}
	locked, released := times["locked"], times["released"]
	t.Logf("database locked for %s", released.Sub(locked).Round(time.Millisecond))
	if !w.alive() {
		t.Fatalf("worker died while the database was locked:\n%s", w.tail(30))
	}

	f.waitTerminal(60*time.Second, ids...)
	for _, id := range ids {
		r := f.run(id)
		if r.Status != "succeeded" || r.AttemptCount != 1 {
			t.Errorf("run %s: status %s, attempt_count %d, error %q", id, r.Status, r.AttemptCount, r.ErrorMessage.String)
		}
		if c := r.CompletedAt.Time; c.After(locked.Add(200*time.Millisecond)) && c.Before(released.Add(-200*time.Millisecond)) {
			t.Errorf("run %s completed at %s, while the database was locked", id, c.Format(time.StampMilli))
		}
	}
	if !w.logged("database is locked by another connection; waiting for it", nil) || !w.logged("database lock released; continuing", nil) {
		t.Errorf("the worker did not log the wait for the lock:\n%s", w.tail(40))
	}
	w.stop(t)
}

// TestDatabaseVanishesMidRun: the SQLite file (with its -wal and -shm) is
// moved away for 5 s while a run is in flight, then put back. While it is
// gone the worker's heartbeats and its acknowledgement fail (SQLite itself
// would go on writing into the moved file, or into a new empty one at the
// path: the store refuses both); it neither crashes nor acks nor creates a
// stray database; once the file is back it resumes, and the run succeeds
// on its first attempt.
func TestDatabaseVanishesMidRun(t *testing.T) {
	f := newFixture(t)
	runID := f.simpleRuns("cfg-vanish", "sleeponce 1", 1)[0]
	// Lease 9 s: heartbeats every 3 s, so a 5 s gap fails one or two of
	// them without using the lease up.
	w := f.startWorker("orphaned", "ADE_WORKER_LEASE_SECONDS=9")
	f.waitExecution(30*time.Second, "run-"+runID)

	away := filepath.Join(f.root, "away")
	if err := os.Mkdir(away, 0o755); err != nil {
		t.Fatal(err)
	}
	names := []string{"ade.sqlite", "ade.sqlite-wal", "ade.sqlite-shm"}
	move := func(from, to string) {
		for _, n := range names {
			if err := os.Rename(filepath.Join(from, n), filepath.Join(to, n)); err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
		}
	}
	move(filepath.Dir(f.dbPath), away)
	gone := time.Now()
	time.Sleep(5 * time.Second)
	if !w.alive() {
		t.Fatalf("worker died while the database was gone:\n%s", w.tail(30))
	}
	if _, err := os.Stat(f.dbPath); !os.IsNotExist(err) {
		t.Errorf("a database file appeared at the path while it was gone: %v", err)
	}
	move(away, filepath.Dir(f.dbPath))
	back := time.Now()

	f.waitTerminal(30*time.Second, runID)
	r := f.run(runID)
	if r.Status != "succeeded" || r.AttemptCount != 1 {
		t.Fatalf("run: status %s, attempt_count %d, error %q; want succeeded on attempt 1", r.Status, r.AttemptCount, r.ErrorMessage.String)
	}
	if !r.CompletedAt.Time.After(back) {
		t.Errorf("run completed at %s, before the database was back at %s", r.CompletedAt.Time.Format(time.StampMilli), back.Format(time.StampMilli))
	}
	if n := w.countLogged("heartbeat failed"); n == 0 {
		t.Error("no heartbeat failed while the database was gone")
	}
	if !w.logged("writing a job's outcome failed; retrying", map[string]any{"run_id": runID}) {
		t.Error("the worker did not retry its acknowledgement")
	}
	t.Logf("gone for %s; run acknowledged %s after the database was back; %d heartbeats failed",
		back.Sub(gone).Round(time.Millisecond), r.CompletedAt.Time.Sub(back).Round(time.Millisecond), w.countLogged("heartbeat failed"))
	w.stop(t)
}
