package bench

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The harness reads the worker's CPU time and memory from /proc, so its
// tests run on Linux only.

// TestBenchNoop runs the whole harness, small: the real ade-worker binary
// (built here) as a child process, the noop engine in a real virtual
// environment, interleaved rounds, idle pickup, and the JSON result.
func TestBenchNoop(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go is not on PATH to build the worker binary")
	}
	if err := exec.Command("python3", "-c", "import venv").Run(); err != nil {
		t.Skipf("python3 with venv is not available: %v", err)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "ade-worker")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/ade-worker").CombinedOutput(); err != nil {
		t.Fatalf("build the worker: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var progress strings.Builder
	res, err := Run(ctx, Options{
		WorkerPath: bin, Dir: filepath.Join(dir, "work"), Runs: 6, Concurrency: 2, Rounds: 2, Noop: true,
		IdleRuns: 2, IdleWindow: 500 * time.Millisecond, IdleSettle: 300 * time.Millisecond,
		ConfigDir: "../../examples/config-package", Input: "../../examples/inputs/members.csv",
		Environ: os.Environ(), Progress: &progress,
	})
	if err != nil {
		if res != nil {
			if b, rerr := os.ReadFile(filepath.Join(res.WorkDir, "worker.log")); rerr == nil {
				t.Logf("worker log:\n%s", b)
			}
		}
		t.Fatalf("bench: %v\nprogress:\n%s", err, progress.String())
	}
	w := res.Worker
	if w.Succeeded != 6 || w.Failed != 0 || w.Throughput <= 0 || w.RunWall.N != 6 || w.EngineWall.N != 6 {
		t.Errorf("worker result: %+v", w)
	}
	if w.Pickup.P50 < 0 || w.Overhead.N != 6 || w.Handoff.N != 2 {
		t.Errorf("latencies: pickup %+v overhead %+v handoff %+v (want 2 hand-offs: 3 runs a round at 2 slots)", w.Pickup, w.Overhead, w.Handoff)
	}
	// A claim and an ack are at least 4 statements each (BEGIN and COMMIT).
	if w.StatementsPerRun < 8 {
		t.Errorf("statements per run = %v, want at least 8", w.StatementsPerRun)
	}
	if res.Ideal.Runs != 6 || res.Ideal.Failed != 0 || res.Ideal.Throughput <= 0 || res.Ratio <= 0 {
		t.Errorf("ideal: %+v, ratio %v", res.Ideal, res.Ratio)
	}
	if res.Idle.Runs != 2 || res.Idle.Pickup.N != 2 || res.Idle.StatementsPerS <= 0 {
		t.Errorf("idle: %+v", res.Idle)
	}
	if res.Memory.PeakMiB <= 0 || res.Memory.PeakMiB < res.Memory.AfterMiB || res.WorkerExitCode != 0 {
		t.Errorf("memory %+v, worker exit code %d", res.Memory, res.WorkerExitCode)
	}

	path := filepath.Join(dir, "out", "noop.json")
	if err := res.WriteJSON(path); err != nil {
		t.Fatal(err)
	}
	var back Result
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("the JSON result does not read back: %v", err)
	}
	if back.Engine != "noop" || back.Worker.Succeeded != 6 || back.Ratio != res.Ratio {
		t.Errorf("JSON round trip: %+v", back)
	}
	var table strings.Builder
	res.WriteTable(&table)
	for _, want := range []string{"throughput", "engine-bound ideal", "of ideal", "idle pickup", "statements per run", "worker RSS"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
}

// cpuTimes reads the same user and system CPU time that getrusage reports
// for this process, within /proc's 10 ms resolution, after this process
// has spent a measurable amount of each.
func TestCPUTimesAgreeWithGetrusage(t *testing.T) {
	rusage := func() (user, system time.Duration) {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			t.Fatal(err)
		}
		return time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano())
	}
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer devnull.Close()
	// Spend unequal amounts of each (so that swapped fields would show):
	// over 300 ms of user time spinning, then over 150 ms of system time in
	// small writes.
	u0, s0 := rusage()
	sum := 0
	for u, _ := rusage(); u-u0 < 300*time.Millisecond; u, _ = rusage() {
		for i := range 10_000_000 {
			sum += i
		}
	}
	buf := []byte{byte(sum)}
	for _, s := rusage(); s-s0 < 150*time.Millisecond; _, s = rusage() {
		for range 1000 {
			if _, err := devnull.Write(buf); err != nil {
				t.Fatal(err)
			}
		}
	}
	pu, ps, err := cpuTimes(os.Getpid())
	ru, rs := rusage()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("/proc: user %v, system %v; getrusage: user %v, system %v", pu, ps, ru, rs)
	const slack = 50 * time.Millisecond // two ticks each way, and the reads' own time
	for _, c := range []struct {
		name         string
		proc, rusage time.Duration
	}{{"user", pu, ru}, {"system", ps, rs}} {
		if c.proc < c.rusage-slack || c.proc > c.rusage+slack {
			t.Errorf("%s CPU from /proc/<pid>/stat is %v, getrusage says %v", c.name, c.proc, c.rusage)
		}
	}
	if _, _, err := cpuTimes(-1); err == nil {
		t.Error("cpuTimes of no process succeeded")
	}
}
