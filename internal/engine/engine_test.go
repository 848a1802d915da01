package engine

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ade-dev/ade-worker/internal/eventlog"
)

// helperEnv switches the test binary into a helper process (see TestMain).
const helperEnv = "ADE_ENGINE_TEST_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) == "pdeathsig" {
		os.Exit(pdeathsigHelper())
	}
	os.Exit(m.Run())
}

// pdeathsigHelper runs a long-lived child through Run and never returns on
// its own: the test kills this process and watches the child.
func pdeathsigHelper() int {
	pidFile := os.Getenv("ADE_ENGINE_TEST_PIDFILE")
	_, err := Run(context.Background(), Spec{
		Path: "sh",
		Args: []string{"-c", `echo $$ > "$PIDFILE.tmp" && mv "$PIDFILE.tmp" "$PIDFILE" && exec sleep 300`},
		Env:  ChildEnv(os.Environ(), "PIDFILE="+pidFile),
	})
	fmt.Fprintln(os.Stderr, "helper: Run returned:", err)
	return 1
}

// record is one decoded line of an events.ndjson file.
type record map[string]any

func (r record) data() map[string]any { d, _ := r["data"].(map[string]any); return d }

func openLog(t *testing.T) (*eventlog.Log, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "logs", "events.ndjson")
	l, err := eventlog.Open(path, map[string]string{"run_id": "run-1", "workspace_id": "ws-1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l, path
}

func readLog(t *testing.T, l *eventlog.Log, path string) []record {
	t.Helper()
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []record
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 8<<20)
	for sc.Scan() {
		var r record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("log line is not JSON: %v: %.200q", err, sc.Bytes())
		}
		if ctx, _ := r["context"].(map[string]any); ctx["run_id"] != "run-1" {
			t.Fatalf("log line without the run's context: %v", r)
		}
		out = append(out, r)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func sh(script string) Spec { return Spec{Path: "sh", Args: []string{"-c", script}} }

func run(t *testing.T, s Spec) Result {
	t.Helper()
	res, err := Run(context.Background(), s)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return res
}

// alive reports whether pid is a running process (a zombie is not).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name.
	fields := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	return len(fields) > 0 && fields[0] != "Z" && fields[0] != "X"
}

func waitGone(t *testing.T, pid int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for alive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("process %d still running after %v", pid, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// readPid waits for a pid file written by a subprocess.
func readPid(t *testing.T, path string) int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := os.ReadFile(path)
		if err == nil && len(bytes.TrimSpace(b)) > 0 {
			pid, err := strconv.Atoi(string(bytes.TrimSpace(b)))
			if err != nil {
				t.Fatalf("pid file %s: %v", path, err)
			}
			return pid
		}
		if time.Now().After(deadline) {
			t.Fatalf("pid file %s never written", path)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func killLater(t *testing.T, pid int) {
	t.Cleanup(func() {
		if alive(pid) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
}

func TestRunExitCodes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		script string
		code   int
		signal string
	}{
		{"exit 0", 0, ""},
		{"exit 3", 3, ""},
		{"kill -KILL $$", 128 + 9, "SIGKILL"},
		{"kill -TERM $$", 128 + 15, "SIGTERM"},
	} {
		res := run(t, sh(tc.script))
		if res.ExitCode != tc.code || res.Signal != tc.signal || res.TimedOut || res.Canceled {
			t.Errorf("%q: result %+v, want exit %d signal %q", tc.script, res, tc.code, tc.signal)
		}
		if res.Duration <= 0 {
			t.Errorf("%q: no duration", tc.script)
		}
	}
}

func TestRunStartErrors(t *testing.T) {
	t.Parallel()
	for _, s := range []Spec{
		{Path: "ade-no-such-program"},
		{Path: "sh", Dir: filepath.Join(t.TempDir(), "missing")},
		{},
	} {
		res, err := Run(context.Background(), s)
		if err == nil || !strings.Contains(err.Error(), "start") {
			t.Errorf("Run(%+v) = %+v, %v; want a start error", s, res, err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Run(ctx, sh("exit 0")); err == nil {
		t.Error("Run with a canceled context started anyway")
	}
}

func TestRunTeesOutput(t *testing.T) {
	t.Parallel()
	l, path := openLog(t)
	var seen []string
	s := sh(`
echo '{"event":"engine.start","level":"info","message":"hi","data":{"n":1}}'
echo 'plain stdout'
echo '{"event": "broken",}'
echo '[1,2]'
echo 'warning: something' >&2
echo '{"event":"engine.run.completed","scope":"run","data":{"status":"first"}}'
echo '{"event":"engine.run.completed","scope":"run","data":{"status":"last"}}'
echo '{"event":"engine.stderr.event","data":{}}' >&2
printf 'no newline at end' >&2
`)
	s.Log = l
	s.OnEvent = func(ev *eventlog.EngineEvent) { seen = append(seen, ev.Name) }
	res := run(t, s)
	if res.ExitCode != 0 {
		t.Fatalf("exit %d", res.ExitCode)
	}
	if res.Completed == nil || string(res.Completed.Data) != `{"status":"last"}` || res.Completed.Scope != "run" {
		t.Errorf("Completed = %+v, want the last engine.run.completed", res.Completed)
	}
	if strings.Join(res.Tail, "|") != "warning: something|no newline at end" {
		t.Errorf("Tail = %q", res.Tail)
	}
	if len(seen) != 4 {
		t.Errorf("OnEvent saw %q", seen)
	}
	recs := readLog(t, l, path)
	events := map[string][]string{}
	for _, r := range recs {
		msg, _ := r["message"].(string)
		events[r["event"].(string)] = append(events[r["event"].(string)], msg)
	}
	if got := events["run.stdout"]; strings.Join(got, "|") != `plain stdout|{"event": "broken",}|[1,2]` {
		t.Errorf("plain stdout lines = %q", got)
	}
	if got := events["run.stderr"]; len(got) != 2 {
		t.Errorf("plain stderr lines = %q", got)
	}
	if len(events["engine.start"]) != 1 || len(events["engine.run.completed"]) != 2 || len(events["engine.stderr.event"]) != 1 {
		t.Errorf("engine events = %v", events)
	}
}

func TestRunEnvironmentScope(t *testing.T) {
	t.Parallel()
	l, path := openLog(t)
	s := sh("echo building; echo oops >&2")
	s.Log, s.Scope = l, "environment"
	run(t, s)
	var names []string
	for _, r := range readLog(t, l, path) {
		names = append(names, r["event"].(string))
	}
	if strings.Join(names, ",") != "environment.stdout,environment.stderr" && strings.Join(names, ",") != "environment.stderr,environment.stdout" {
		t.Errorf("events = %v", names)
	}
}

func TestRunStdinIsEmpty(t *testing.T) {
	t.Parallel()
	// A subprocess that reads stdin must see its end, not hang.
	res := run(t, Spec{Path: "cat", Timeout: 10 * time.Second})
	if res.ExitCode != 0 || res.TimedOut {
		t.Fatalf("cat: %+v", res)
	}
}

func TestRunTimeoutKillsProcessGroup(t *testing.T) {
	t.Parallel()
	pidFile := filepath.Join(t.TempDir(), "grandchild.pid")
	s := sh(`sleep 300 & echo $! > "$PIDFILE"; wait`)
	s.Env = ChildEnv(os.Environ(), "PIDFILE="+pidFile)
	s.Timeout = 300 * time.Millisecond
	start := time.Now()
	res := run(t, s)
	grandchild := readPid(t, pidFile)
	killLater(t, grandchild)
	if !res.TimedOut || res.ExitCode != ExitTimedOut || res.Canceled {
		t.Errorf("result %+v, want timed out with exit %d", res, ExitTimedOut)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("Run took %v after a 300ms timeout", took)
	}
	waitGone(t, grandchild, 5*time.Second)
}

func TestRunTimeoutKillsWhatIgnoresTERM(t *testing.T) {
	t.Parallel()
	s := sh(`trap "" TERM; sleep 300`)
	s.Timeout = 200 * time.Millisecond
	s.KillGrace = 300 * time.Millisecond
	start := time.Now()
	res := run(t, s)
	if !res.TimedOut || res.Signal != "SIGKILL" || res.ExitCode != ExitTimedOut {
		t.Errorf("result %+v, want killed by SIGKILL after the grace", res)
	}
	if took := time.Since(start); took < 500*time.Millisecond || took > 6*time.Second {
		t.Errorf("Run took %v; want timeout plus grace", took)
	}
}

func TestRunCancel(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	start := time.Now()
	res, err := Run(ctx, Spec{Path: "sleep", Args: []string{"300"}})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Canceled || res.TimedOut || res.Signal != "SIGTERM" {
		t.Errorf("result %+v, want canceled by SIGTERM", res)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("Run took %v to stop after cancel", took)
	}
}

// TestRunLeavesNothingBehind checks that a background child left by a
// finished process is killed and does not hold Run open through its copy
// of stdout.
func TestRunLeavesNothingBehind(t *testing.T) {
	t.Parallel()
	pidFile := filepath.Join(t.TempDir(), "bg.pid")
	s := sh(`sleep 300 & echo $! > "$PIDFILE"; echo done`)
	s.Env = ChildEnv(os.Environ(), "PIDFILE="+pidFile)
	start := time.Now()
	res := run(t, s)
	bg := readPid(t, pidFile)
	killLater(t, bg)
	if res.ExitCode != 0 || time.Since(start) > 5*time.Second {
		t.Errorf("result %+v after %v", res, time.Since(start))
	}
	waitGone(t, bg, 5*time.Second)
}

// TestRunEscapedProcessCannotHoldRunOpen covers a child that left the
// process group (setsid) while keeping stdout open: Run stops waiting for
// output after the grace.
func TestRunEscapedProcessCannotHoldRunOpen(t *testing.T) {
	t.Parallel()
	pidFile := filepath.Join(t.TempDir(), "escaped.pid")
	s := sh(`setsid sleep 300 & echo $! > "$PIDFILE"; echo started`)
	s.Env = ChildEnv(os.Environ(), "PIDFILE="+pidFile)
	s.KillGrace = 300 * time.Millisecond
	start := time.Now()
	res := run(t, s)
	killLater(t, readPid(t, pidFile))
	if res.ExitCode != 0 {
		t.Errorf("result %+v", res)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("Run took %v with an escaped process holding stdout", took)
	}
}

func TestRunHugeLineIsBounded(t *testing.T) {
	// Not parallel: it measures this process's allocations.
	const size = 50 << 20
	l, path := openLog(t)
	s := sh(fmt.Sprintf(`head -c %d /dev/zero | tr '\0' x; echo; echo '{"event":"engine.after","data":{}}'`, size))
	s.Log = l
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	res := run(t, s)
	runtime.ReadMemStats(&after)
	if res.ExitCode != 0 {
		t.Fatalf("result %+v", res)
	}
	if grown := after.TotalAlloc - before.TotalAlloc; grown > 8*DefaultMaxLine {
		t.Errorf("a 50 MB line cost %d bytes of allocation", grown)
	}
	recs := readLog(t, l, path)
	if len(recs) != 2 {
		t.Fatalf("%d records", len(recs))
	}
	d := recs[0].data()
	if recs[0]["event"] != "run.stdout" || d["truncated"] != true || d["truncated_bytes"] != float64(size-DefaultMaxLine) {
		t.Errorf("truncated record: event %v data %v", recs[0]["event"], d)
	}
	msg := recs[0]["message"].(string)
	if !strings.HasSuffix(msg, eventlog.TruncationSuffix(size-DefaultMaxLine)) || len(msg) > DefaultMaxLine+100 {
		t.Errorf("truncated message of %d bytes ends %q", len(msg), msg[max(0, len(msg)-40):])
	}
	if recs[1]["event"] != "engine.after" {
		t.Errorf("line after the huge one: %v", recs[1])
	}
}

func TestRunCPUTime(t *testing.T) {
	t.Parallel()
	res := run(t, sh(`i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done`))
	if res.UserCPU+res.SysCPU < 20*time.Millisecond {
		t.Errorf("CPU time %v + %v for a busy loop", res.UserCPU, res.SysCPU)
	}
}

func TestRunNilLogStillCaptures(t *testing.T) {
	t.Parallel()
	res := run(t, sh(`echo '{"event":"engine.run.completed","data":{"ok":true}}'; echo boom >&2; exit 2`))
	if res.ExitCode != 2 || res.Completed == nil || len(res.Tail) != 1 || res.Tail[0] != "boom" {
		t.Errorf("result %+v", res)
	}
}

func TestRunTailKeepsLastLines(t *testing.T) {
	t.Parallel()
	res := run(t, sh(`i=1; while [ $i -le 50 ]; do echo "err $i" >&2; i=$((i+1)); done`))
	if len(res.Tail) != tailLines || res.Tail[0] != "err 31" || res.Tail[tailLines-1] != "err 50" {
		t.Errorf("Tail = %q", res.Tail)
	}
}

func TestRunInvalidUTF8(t *testing.T) {
	t.Parallel()
	l, path := openLog(t)
	s := sh(`printf 'caf\351\n'`)
	s.Log = l
	run(t, s)
	if recs := readLog(t, l, path); recs[0]["message"] != "caf\uFFFD" {
		t.Errorf("message = %q", recs[0]["message"])
	}
}

// TestPdeathsig starts a helper process that runs a child through Run, kills
// the helper with SIGKILL (no chance to clean up), and checks the child dies
// with it: the worker dying must not leave engines running.
func TestPdeathsig(t *testing.T) {
	t.Parallel()
	pidFile := filepath.Join(t.TempDir(), "child.pid")
	helper := exec.Command(os.Args[0], "-test.run=^$")
	helper.Env = append(os.Environ(), helperEnv+"=pdeathsig", "ADE_ENGINE_TEST_PIDFILE="+pidFile)
	var stderr bytes.Buffer
	helper.Stderr = &stderr
	if err := helper.Start(); err != nil {
		t.Fatal(err)
	}
	child := readPid(t, pidFile)
	killLater(t, child)
	if !alive(child) {
		t.Fatalf("child %d is not running before the helper is killed (helper: %s)", child, stderr.String())
	}
	if err := helper.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	helper.Wait()
	waitGone(t, child, 5*time.Second)
}

// TestChildSurvivesThreadChurn runs children while other goroutines retire
// OS threads. A child forked from a thread that goes back to the scheduler's
// pool dies of its parent-death signal as soon as such a retirement takes
// that thread; forking from a thread locked until the reap prevents it.
func TestChildSurvivesThreadChurn(t *testing.T) {
	t.Parallel()
	stop := make(chan struct{})
	var churn sync.WaitGroup
	for range 4 {
		churn.Add(1)
		go func() {
			defer churn.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				done := make(chan struct{})
				go func() {
					// Exiting while locked makes the runtime end the thread.
					runtime.LockOSThread()
					close(done)
				}()
				<-done
				time.Sleep(time.Millisecond)
			}
		}()
	}
	var wg sync.WaitGroup
	results := make([]Result, 6)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = run(t, sh("sleep 1; exit 7"))
		}()
		time.Sleep(50 * time.Millisecond)
	}
	wg.Wait()
	close(stop)
	churn.Wait()
	for i, res := range results {
		if res.ExitCode != 7 || res.Signal != "" {
			t.Errorf("child %d: %+v; want it to run to its end", i, res)
		}
	}
}

// On a kernel without pidfds (before Linux 5.3) the exit is waited for in
// waitid on the engine's thread: exit codes, signals and a timeout's kill
// of the whole process group come out as with a pidfd. Not parallel: it
// swaps pidfdOpen for the package while no other test runs.
func TestRunWithoutPidfd(t *testing.T) {
	var calls atomic.Int64
	pidfdOpen = func(int, int) (int, error) {
		calls.Add(1)
		return -1, unix.ENOSYS
	}
	defer func() { pidfdOpen = unix.PidfdOpen }()

	for _, tc := range []struct {
		script string
		code   int
		signal string
	}{{"exit 3", 3, ""}, {"kill -TERM $$", 128 + 15, "SIGTERM"}} {
		res := run(t, sh(tc.script))
		if res.ExitCode != tc.code || res.Signal != tc.signal || res.TimedOut {
			t.Errorf("%q: result %+v, want exit %d signal %q", tc.script, res, tc.code, tc.signal)
		}
	}
	pidFile := filepath.Join(t.TempDir(), "grandchild.pid")
	s := sh(`trap "" TERM; sleep 300 & echo $! > "$PIDFILE"; wait`)
	s.Env = ChildEnv(os.Environ(), "PIDFILE="+pidFile)
	s.Timeout = 300 * time.Millisecond
	s.KillGrace = 300 * time.Millisecond
	res := run(t, s)
	grandchild := readPid(t, pidFile)
	killLater(t, grandchild)
	if !res.TimedOut || res.ExitCode != ExitTimedOut || res.Signal != "SIGKILL" {
		t.Errorf("timeout: result %+v, want timed out and killed by SIGKILL after the grace", res)
	}
	waitGone(t, grandchild, 5*time.Second)
	if calls.Load() != 3 {
		t.Errorf("pidfd_open was tried %d times, want once per run (3)", calls.Load())
	}
}
