package engine

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The tests of BecomeSubreaper run in a helper process: the subreaper is a
// property of the whole process, which a test must not give the test
// binary that runs every other test.
func init() { helpers["strays"] = straysMain }

// escapeScript starts a process that leaves the run's process group and
// session (setsid), writes its pid and its session's id once it has, and
// sleeps; the script goes on only when that is done, so the process has
// escaped before the run can end. What follows $0 runs after it.
const escapeScript = `
setsid sh -c 'echo "$$ $(cut -d" " -f6 /proc/$$/stat)" > "$PIDFILE.tmp"; mv "$PIDFILE.tmp" "$PIDFILE"; exec sleep 300' &
while [ ! -s "$PIDFILE" ]; do sleep 0.01; done
`

// strayReport is what the helper prints: each run's outcome, and the pid
// and session id of each process that escaped.
type strayReport struct {
	Results  []Result
	Errors   []string
	Strays   []int
	Sessions []int
}

// straysMain runs the engines of one test (ADE_ENGINE_TEST_MODE), prints a
// strayReport, and then waits for its stdin to close: the escaped
// processes are its children, so while it lives a zombie of theirs would
// still show.
func straysMain() int {
	mode, dir := os.Getenv("ADE_ENGINE_TEST_MODE"), os.Getenv("ADE_ENGINE_TEST_DIR")
	if os.Getenv("ADE_ENGINE_TEST_FULL_SWEEPS") != "" {
		fullSweepEvery = 0
	}
	if mode != "no-subreaper" {
		if err := BecomeSubreaper(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
	}
	var rep strayReport
	var mu sync.Mutex
	escape := func(ctx context.Context, i int, then string) {
		pidFile := filepath.Join(dir, fmt.Sprintf("stray-%d", i))
		s := Spec{Path: "sh", Args: []string{"-c", escapeScript + then}, Env: ChildEnv(os.Environ(), "PIDFILE="+pidFile)}
		res, err := Run(ctx, s)
		mu.Lock()
		defer mu.Unlock()
		rep.Results = append(rep.Results, res)
		if err != nil {
			rep.Errors = append(rep.Errors, err.Error())
		}
		if b, err := os.ReadFile(pidFile); err == nil {
			var pid, sid int
			fmt.Sscan(string(b), &pid, &sid)
			rep.Strays, rep.Sessions = append(rep.Strays, pid), append(rep.Sessions, sid)
		}
	}
	switch mode {
	case "exit", "no-subreaper":
		escape(context.Background(), 0, "exit 0")
	case "cancel":
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			for {
				if _, err := os.Stat(filepath.Join(dir, "stray-0")); err == nil {
					cancel()
					return
				}
				time.Sleep(10 * time.Millisecond)
			}
		}()
		escape(ctx, 0, "sleep 300")
	case "many":
		manyEscapes(escape, &rep, &mu)
	}
	if err := json.NewEncoder(os.Stdout).Encode(rep); err != nil {
		return 2
	}
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
	return 0
}

// manyEscapes runs escaping engines side by side with engines that just
// exit: a sweep must never reap a process os/exec is waiting for, which
// would make its Run fail.
func manyEscapes(escape func(context.Context, int, string), rep *strayReport, mu *sync.Mutex) {
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() { escape(context.Background(), i, "exit 7") })
	}
	for range 4 {
		wg.Go(func() {
			for range 10 {
				res, err := Run(context.Background(), Spec{Path: "sh", Args: []string{"-c", "exit 3"}})
				mu.Lock()
				rep.Results = append(rep.Results, res)
				if err != nil {
					rep.Errors = append(rep.Errors, err.Error())
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}

// runStrays runs the helper in mode and returns its report; the helper
// stays alive until the test ends. env is added to the helper's.
func runStrays(t *testing.T, mode string, env ...string) strayReport {
	t.Helper()
	helper := exec.Command(os.Args[0])
	helper.Env = append(os.Environ(), helperEnv+"=strays", "ADE_ENGINE_TEST_MODE="+mode, "ADE_ENGINE_TEST_DIR="+t.TempDir())
	helper.Env = append(helper.Env, env...)
	var stderr bytes.Buffer
	helper.Stderr = &stderr
	stdin, err := helper.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := helper.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := helper.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		_ = helper.Wait()
	})
	var rep strayReport
	if err := json.NewDecoder(stdout).Decode(&rep); err != nil {
		t.Fatalf("helper report: %v (stderr: %s)", err, stderr.String())
	}
	for _, pid := range rep.Strays {
		killLater(t, pid)
	}
	if len(rep.Errors) > 0 {
		t.Errorf("Run failed: %q", rep.Errors)
	}
	for i, pid := range rep.Strays {
		if rep.Sessions[i] != pid {
			t.Fatalf("process %d did not leave the run's session (session %d): the test proves nothing", pid, rep.Sessions[i])
		}
	}
	return rep
}

// gone reports whether no process, not even a zombie, has pid.
func gone(pid int) bool {
	_, err := os.Stat("/proc/" + strconv.Itoa(pid))
	return errors.Is(err, fs.ErrNotExist)
}

// A process that calls setsid is out of its run's process group; with the
// worker as subreaper it is killed and reaped when the run ends, whether
// the sweep reads the processes started since the run began (the usual
// case) or every process.
func TestStrayKilledWhenRunEnds(t *testing.T) {
	t.Parallel()
	for name, env := range map[string][]string{"since-start": nil, "every-process": {"ADE_ENGINE_TEST_FULL_SWEEPS=1"}} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			rep := runStrays(t, "exit", env...)
			if len(rep.Strays) != 1 || rep.Results[0].ExitCode != 0 {
				t.Fatalf("report %+v", rep)
			}
			if !gone(rep.Strays[0]) {
				t.Errorf("process %d, which left the run's session, is still there after the run (alive %v)", rep.Strays[0], alive(rep.Strays[0]))
			}
		})
	}
}

// The pid range of a run wraps round after the largest pid.
func TestInCycle(t *testing.T) {
	for _, tc := range []struct {
		pid, lo, hi int
		want        bool
	}{
		{101, 100, 200, true}, {200, 100, 200, true}, {100, 100, 200, false}, {201, 100, 200, false}, {5, 100, 200, false},
		{32000, 32000, 50, false}, {32001, 32000, 50, true}, {1, 32000, 50, true}, {50, 32000, 50, true}, {51, 32000, 50, false},
		{7, 7, 7, false},
	} {
		if got := inCycle(tc.pid, tc.lo, tc.hi); got != tc.want {
			t.Errorf("inCycle(%d, %d, %d) = %v, want %v", tc.pid, tc.lo, tc.hi, got, tc.want)
		}
	}
}

// Without the subreaper the same process lives on: what the test above
// checks is the subreaper's doing.
func TestStrayLivesWithoutSubreaper(t *testing.T) {
	t.Parallel()
	rep := runStrays(t, "no-subreaper")
	if len(rep.Strays) != 1 || !alive(rep.Strays[0]) {
		t.Fatalf("report %+v; want the escaped process alive", rep)
	}
}

// A run stopped by its context (a shutdown) ends its escaped process too.
func TestStrayKilledWhenRunIsCanceled(t *testing.T) {
	t.Parallel()
	rep := runStrays(t, "cancel")
	if len(rep.Strays) != 1 || !rep.Results[0].Canceled {
		t.Fatalf("report %+v; want one canceled run", rep)
	}
	if !gone(rep.Strays[0]) {
		t.Errorf("process %d is still there after its run was canceled", rep.Strays[0])
	}
}

// Sweeps beside other runs: every run reports its own exit, and every
// escaped process is gone.
func TestStraysAmongConcurrentRuns(t *testing.T) {
	t.Parallel()
	rep := runStrays(t, "many")
	if len(rep.Strays) != 4 || len(rep.Results) != 44 {
		t.Fatalf("%d escaped processes and %d results, want 4 and 44", len(rep.Strays), len(rep.Results))
	}
	codes := map[int]int{}
	for _, res := range rep.Results {
		codes[res.ExitCode]++
	}
	if codes[7] != 4 || codes[3] != 40 {
		t.Errorf("exit codes %v, want 4×7 and 40×3", codes)
	}
	var left []string
	for _, pid := range rep.Strays {
		if !gone(pid) {
			left = append(left, strconv.Itoa(pid))
		}
	}
	if len(left) > 0 {
		t.Errorf("escaped processes still there: %s", strings.Join(left, ", "))
	}
}

// BenchmarkRunSpawnSubreaper is BenchmarkRunSpawn with the worker as
// subreaper, as the run command sets it: what the end-of-run sweep for
// escaped processes adds to the worker's CPU per run. It turns the
// subreaper off again when done.
func BenchmarkRunSpawnSubreaper(b *testing.B) {
	if err := BecomeSubreaper(); err != nil {
		b.Skip(err)
	}
	defer func() {
		_ = unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
		reaper.Lock()
		reaper.enabled = false
		reaper.Unlock()
	}()
	BenchmarkRunSpawn(b)
}
