package engine

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The tests here run the test binary itself as the engine (see childMain),
// so that they run alike on every system.

func TestChildExitCodeAndOutput(t *testing.T) {
	t.Parallel()
	l, path := openLog(t)
	s := child(`out:{"event":"engine.run.completed","data":{"ok":true}}`, "out:plain", "err:boom", "exit:3")
	s.Log = l
	res := run(t, s)
	if res.ExitCode != 3 || res.Signal != "" || res.TimedOut || res.Canceled {
		t.Errorf("result %+v, want exit 3", res)
	}
	if res.Completed == nil || string(res.Completed.Data) != `{"ok":true}` {
		t.Errorf("Completed = %+v", res.Completed)
	}
	if strings.Join(res.Tail, "|") != "boom" {
		t.Errorf("Tail = %q", res.Tail)
	}
	events := map[string]string{}
	for _, r := range readLog(t, l, path) {
		msg, _ := r["message"].(string)
		events[r["event"].(string)] = msg
	}
	if events["run.stdout"] != "plain" || events["run.stderr"] != "boom" || len(events) != 3 {
		t.Errorf("events %v", events)
	}
}

func TestChildStdinIsEmpty(t *testing.T) {
	t.Parallel()
	l, path := openLog(t)
	s := child("stdin")
	s.Log, s.Timeout = l, time.Minute
	if res := run(t, s); res.ExitCode != 0 || res.TimedOut {
		t.Fatalf("result %+v", res)
	}
	if recs := readLog(t, l, path); len(recs) != 1 || recs[0]["message"] != "stdin: 0 bytes (<nil>)" {
		t.Errorf("records %v", recs)
	}
}

// A timeout ends the engine and the process it started.
func TestChildTimeoutEndsTree(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := child("spawn:"+filepath.Join(dir, "grandchild"), "pid:"+filepath.Join(dir, "child"), "sleep:300s")
	// Long enough for both processes to start on a loaded machine.
	s.Timeout = 2 * time.Second
	res := run(t, s)
	engine, grandchild := readPid(t, filepath.Join(dir, "child")), readPid(t, filepath.Join(dir, "grandchild"))
	killLater(t, engine)
	killLater(t, grandchild)
	if !res.TimedOut || res.Canceled || res.ExitCode != ExitTimedOut {
		t.Errorf("result %+v, want timed out with exit %d", res, ExitTimedOut)
	}
	waitGone(t, engine, 5*time.Second)
	waitGone(t, grandchild, 5*time.Second)
}

// Cancelling the context (a shutdown) ends the engine and the process it
// started.
func TestChildCancelEndsTree(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	enginePid, grandchildPid := filepath.Join(dir, "child"), filepath.Join(dir, "grandchild")
	go func() {
		readPid(t, enginePid)
		readPid(t, grandchildPid)
		cancel()
	}()
	res, err := Run(ctx, child("spawn:"+grandchildPid, "pid:"+enginePid, "sleep:300s"))
	if err != nil {
		t.Fatal(err)
	}
	engine, grandchild := readPid(t, enginePid), readPid(t, grandchildPid)
	killLater(t, engine)
	killLater(t, grandchild)
	if !res.Canceled || res.TimedOut || res.ExitCode == 0 {
		t.Errorf("result %+v, want canceled", res)
	}
	waitGone(t, engine, 5*time.Second)
	waitGone(t, grandchild, 5*time.Second)
}

// A process the engine left running when it exited is ended, and its copy
// of the engine's stdout does not hold Run open.
func TestChildLeavesNothingBehind(t *testing.T) {
	t.Parallel()
	grandchildPid := filepath.Join(t.TempDir(), "grandchild")
	s := child("spawn:"+grandchildPid, "await:"+grandchildPid, "out:done")
	s.KillGrace = time.Minute // a run held open by the pipe would show
	start := time.Now()
	res := run(t, s)
	grandchild := readPid(t, grandchildPid)
	killLater(t, grandchild)
	if res.ExitCode != 0 || time.Since(start) > 30*time.Second {
		t.Errorf("result %+v after %v", res, time.Since(start))
	}
	waitGone(t, grandchild, 5*time.Second)
}
