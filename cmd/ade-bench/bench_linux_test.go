package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The harness reads the worker's CPU time and memory from /proc, so the
// whole bench runs on Linux only.

// TestBenchJSON runs a tiny noop bench of the real binaries, built into one
// folder so that ade-bench finds the worker beside itself: --json prints
// the result on stdout and nothing else, and --out is where the same result
// is written.
func TestBenchJSON(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go is not on PATH to build the binaries")
	}
	if err := exec.Command("python3", "-c", "import venv").Run(); err != nil {
		t.Skipf("python3 with venv is not available: %v", err)
	}
	dir := t.TempDir()
	binDir := filepath.Join(dir, "bin")
	build := exec.Command("go", "build", "-o", binDir+string(filepath.Separator), "../ade-worker", ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the binaries: %v\n%s", err, out)
	}
	out := filepath.Join(dir, "results", "noop.json")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, "ade-bench"), "--noop", "--runs", "2", "--concurrency", "1", "--rounds", "1",
		"--idle-runs", "0", "--idle-window", "100ms", "--json", "--out", out, "--dir", filepath.Join(dir, "work"),
		"--examples", filepath.Join(repoRoot, "examples"))
	cmd.Env = benchEnviron(t)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("bench: %v\n--- stdout\n%s\n--- stderr\n%s", err, stdout.String(), stderr.String())
	}
	var printed, written map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &printed); err != nil {
		t.Fatalf("stdout is not one JSON document: %v\n%s", err, stdout.String())
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("--out: %v", err)
	}
	if err := json.Unmarshal(b, &written); err != nil {
		t.Fatal(err)
	}
	if printed["engine"] != "noop" || printed["runs"] != float64(2) || printed["started_at"] != written["started_at"] {
		t.Errorf("printed %v\nwritten %v", printed, written)
	}
	if !strings.Contains(stderr.String(), "JSON: "+out) {
		t.Errorf("stderr does not say where the JSON went:\n%s", stderr.String())
	}
	if !strings.Contains(stderr.String(), "worker under test "+filepath.Join(binDir, "ade-worker")) {
		t.Errorf("stderr does not name the worker beside ade-bench:\n%s", stderr.String())
	}
}
