//go:build unix

package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ade-dev/ade-worker/internal/eventlog"
)

func (r record) data() map[string]any { d, _ := r["data"].(map[string]any); return d }

// sh runs script with the system's shell.
func sh(script string) Spec { return Spec{Path: "sh", Args: []string{"-c", script}} }

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
	// Python's os.setsid (macOS has no setsid(1)); the pid is written once
	// the process has left, and the engine waits for it.
	s := sh(`python3 -c '
import os
os.setsid()
open(os.environ["PIDFILE"] + ".tmp", "w").write(str(os.getpid()))
os.rename(os.environ["PIDFILE"] + ".tmp", os.environ["PIDFILE"])
os.execvp("sleep", ["sleep", "300"])' &
while [ ! -s "$PIDFILE" ]; do sleep 0.01; done; echo started`)
	s.Env = ChildEnv(os.Environ(), "PIDFILE="+pidFile)
	s.KillGrace = 300 * time.Millisecond
	start := time.Now()
	res := run(t, s)
	escaped := readPid(t, pidFile)
	killLater(t, escaped)
	if res.ExitCode != 0 {
		t.Errorf("result %+v", res)
	}
	if !alive(escaped) {
		t.Errorf("the escaped process %d is gone: the test did not hold stdout open", escaped)
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

// A process that prints a burst and exits: the whole burst is logged, in
// order.
func TestRunBurstThenExit(t *testing.T) {
	t.Parallel()
	l, path := openLog(t)
	s := sh(`i=0; while [ $i -lt 3000 ]; do echo "{\"event\":\"engine.tick\",\"data\":{\"i\":$i}}"; i=$((i+1)); done`)
	s.Log = l
	res := run(t, s)
	if res.ExitCode != 0 {
		t.Fatalf("exit %d", res.ExitCode)
	}
	recs := readLog(t, l, path)
	if len(recs) != 3000 {
		t.Fatalf("logged %d records, want 3000", len(recs))
	}
	for i, r := range recs {
		if got := fmt.Sprint(r.data()["i"]); got != fmt.Sprint(i) || r["event"] != "engine.tick" {
			t.Fatalf("record %d = %v", i, r)
		}
	}
	if !strings.Contains(fmt.Sprint(recs[0]["context"]), "run-1") {
		t.Errorf("context missing: %v", recs[0])
	}
}
