//go:build linux || windows

package engine

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

func init() { helpers["hold"] = holdMain }

// holdMain runs a long-lived child through Run and never returns on its
// own: the test kills this process and watches the child.
func holdMain() int {
	dir := os.Getenv("ADE_ENGINE_TEST_DIR")
	_, err := Run(context.Background(), child(
		"spawn:"+filepath.Join(dir, "grandchild.pid"), "pid:"+filepath.Join(dir, "child.pid"), "sleep:300s"))
	fmt.Fprintln(os.Stderr, "helper: Run returned:", err)
	return 1
}

// TestEngineDiesWithWorker starts a helper process that runs an engine
// through Run, kills the helper outright (SIGKILL, TerminateProcess: no
// chance to clean up), and checks the engine dies with it: the worker
// dying must not leave engines running. On Linux the parent-death signal
// reaches the engine process itself; on Windows the Job object takes the
// whole tree, the engine's own child included.
func TestEngineDiesWithWorker(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	helper := exec.Command(os.Args[0])
	helper.Env = append(os.Environ(), helperEnv+"=hold", "ADE_ENGINE_TEST_DIR="+dir)
	var stderr bytes.Buffer
	helper.Stderr = &stderr
	if err := helper.Start(); err != nil {
		t.Fatal(err)
	}
	engine := readPid(t, filepath.Join(dir, "child.pid"))
	killLater(t, engine)
	grandchild := readPid(t, filepath.Join(dir, "grandchild.pid"))
	killLater(t, grandchild)
	if !alive(engine) || !alive(grandchild) {
		t.Fatalf("engine %d or its child %d is not running before the helper is killed (helper: %s)", engine, grandchild, stderr.String())
	}
	if err := helper.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = helper.Wait()
	waitGone(t, engine, 5*time.Second)
	if runtime.GOOS == "windows" {
		waitGone(t, grandchild, 5*time.Second)
	}
}
