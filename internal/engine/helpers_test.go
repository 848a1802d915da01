package engine

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ade-dev/ade-worker/internal/eventlog"
)

// helperEnv switches the test binary into a helper process (see TestMain);
// its value names the helper.
const helperEnv = "ADE_ENGINE_TEST_HELPER"

// helpers are the roles the test binary can take instead of running the
// tests, by name. Test files for one system add theirs in init.
var helpers = map[string]func() int{"child": childMain}

func TestMain(m *testing.M) {
	if name := os.Getenv(helperEnv); name != "" {
		main, ok := helpers[name]
		if !ok {
			fmt.Fprintf(os.Stderr, "no helper %q\n", name)
			os.Exit(2)
		}
		os.Exit(main())
	}
	os.Exit(m.Run())
}

// child returns a Spec that runs the test binary as a subprocess doing the
// steps of childMain, the same way on every system.
func child(steps ...string) Spec {
	return Spec{Path: os.Args[0], Args: steps, Env: ChildEnv(os.Environ(), helperEnv+"=child")}
}

// childMain is a subprocess that works through its arguments in order:
//
//	out:TEXT    prints TEXT and a newline on stdout
//	err:TEXT    the same on stderr
//	stdin       prints "stdin: N bytes" once stdin is at its end
//	pid:FILE    writes its pid to FILE
//	spawn:FILE  starts a copy of itself that writes its pid to FILE and
//	            sleeps, holding this process's stdout and stderr
//	await:FILE  waits until FILE exists
//	sleep:D     sleeps for the duration D
//	exit:N      exits with status N
func childMain() int {
	for _, step := range os.Args[1:] {
		op, arg, _ := strings.Cut(step, ":")
		switch op {
		case "out":
			fmt.Fprintln(os.Stdout, arg)
		case "err":
			fmt.Fprintln(os.Stderr, arg)
		case "stdin":
			n, err := io.Copy(io.Discard, os.Stdin)
			fmt.Printf("stdin: %d bytes (%v)\n", n, err)
		case "pid":
			if err := writePid(arg, os.Getpid()); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 2
			}
		case "spawn":
			grandchild := exec.Command(os.Args[0], "pid:"+arg, "sleep:300s")
			grandchild.Stdout, grandchild.Stderr = os.Stdout, os.Stderr
			if err := grandchild.Start(); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 2
			}
		case "await":
			for {
				if _, err := os.Stat(arg); err == nil {
					break
				}
				time.Sleep(5 * time.Millisecond)
			}
		case "sleep":
			d, err := time.ParseDuration(arg)
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 2
			}
			time.Sleep(d)
		case "exit":
			code, _ := strconv.Atoi(arg)
			return code
		default:
			fmt.Fprintf(os.Stderr, "unknown step %q\n", step)
			return 2
		}
	}
	return 0
}

// writePid writes pid to path whole: readers never see a partial file.
func writePid(path string, pid int) error {
	if err := os.WriteFile(path+".tmp", []byte(strconv.Itoa(pid)), 0o644); err != nil {
		return err
	}
	return os.Rename(path+".tmp", path)
}

// record is one decoded line of an events.ndjson file.
type record map[string]any

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

func run(t *testing.T, s Spec) Result {
	t.Helper()
	res, err := Run(context.Background(), s)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return res
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

// killLater kills pid at the end of the test if it is still running, so a
// failing test leaves nothing behind.
func killLater(t *testing.T, pid int) {
	t.Cleanup(func() {
		if !alive(pid) {
			return
		}
		if p, err := os.FindProcess(pid); err == nil {
			_ = p.Kill()
		}
	})
}
