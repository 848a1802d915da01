// Package adeengine_test runs the reference engine's Python tests from `go test ./...`,
// so a change that breaks the engine fails the same test run as the worker.
package adeengine_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

func TestEnginePythonUnitTests(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not found on PATH; skipping the engine's Python tests")
	}

	// The test runs in apps/ade-engine; the command is the documented one, from the repository root.
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatalf("resolve repository root: %v", err)
	}

	ctx := context.Background()
	if deadline, ok := t.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline.Add(-5*time.Second))
		defer cancel()
	}

	cmd := exec.CommandContext(ctx, python, "-m", "unittest", "discover",
		"-s", "apps/ade-engine/tests", "-t", "apps/ade-engine")
	cmd.Dir = root
	// Keep the source tree free of __pycache__ folders.
	cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1", "PYTHONUNBUFFERED=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("python3 -m unittest discover -s apps/ade-engine/tests -t apps/ade-engine: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}
