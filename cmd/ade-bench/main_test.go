package main

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

var repoRoot = func() string {
	abs, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		panic(err)
	}
	return abs
}()

type result struct {
	code           int
	stdout, stderr string
}

func runBench(t *testing.T, environ []string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, environ, &out, &errb, false)
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

// benchEnviron is a data folder of the test's own and offline pip.
func benchEnviron(t *testing.T) []string {
	return []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + os.Getenv("HOME"),
		"ADE_WORKER_DATA_DIR=" + filepath.Join(t.TempDir(), "data"),
		"ADE_ENGINE_PACKAGE_PATH=" + filepath.Join(repoRoot, "apps", "ade-engine"),
		"PIP_NO_INDEX=1",
	}
}

// --help names the command and its flags, on stdout, and exits 0.
func TestHelp(t *testing.T) {
	env := benchEnviron(t)
	for _, form := range [][]string{{"--help"}, {"-h"}, {"--runs", "5", "--help"}} {
		r := runBench(t, env, form...)
		if r.code != exitOK {
			t.Errorf("%v: %+v", form, r)
			continue
		}
		if !strings.HasPrefix(r.stdout, "Usage: ade-bench") {
			t.Errorf("%v: usage does not start with the command: %s", form, r.stdout)
		}
		for _, f := range []string{"-noop", "-json", "-out", "-worker", "-keep", "ADE_WORKER_DATA_DIR"} {
			if !strings.Contains(r.stdout, f) {
				t.Errorf("%v: usage does not mention %q: %s", form, f, r.stdout)
			}
		}
	}
}

func TestUsageErrors(t *testing.T) {
	env := benchEnviron(t)
	for _, args := range [][]string{
		{"--json", "out.json"}, // --json is a switch, as on every command; --out takes the path
		{"--runs", "0"},
		{"--idle-runs", "-1"},
		{"--frob"},
		{"run"},
	} {
		r := runBench(t, env, args...)
		if r.code != exitUsage {
			t.Errorf("%v: want exit 2, got %+v", args, r)
		}
		if !strings.Contains(r.stderr, "Usage") {
			t.Errorf("%v: no usage on stderr: %+v", args, r)
		}
		if r.stdout != "" {
			t.Errorf("%v: wrote to stdout: %+v", args, r)
		}
	}
}

func TestInvalidSettingExits2NamingTheVariable(t *testing.T) {
	env := append(benchEnviron(t), "ADE_WORKER_CONCURRENCY=abc")
	r := runBench(t, env, "--noop")
	if r.code != exitUsage || !strings.Contains(r.stderr, "ADE_WORKER_CONCURRENCY") {
		t.Errorf("want exit 2 naming ADE_WORKER_CONCURRENCY, got %+v", r)
	}
}

// fakeProgram writes an executable file named name (plus .exe on Windows)
// into dir; workerPath only looks for it, never runs it.
func fakeProgram(t *testing.T, dir, name string) string {
	t.Helper()
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// tempDir is t.TempDir with its symbolic links resolved (macOS's /var is
// one), as workerPath resolves this executable's.
func tempDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestWorkerPath(t *testing.T) {
	beside := tempDir(t)
	self := fakeProgram(t, beside, "ade-bench")
	worker := fakeProgram(t, beside, "ade-worker")
	alone := fakeProgram(t, tempDir(t), "ade-bench")

	// By default, the ade-worker beside this executable.
	if got, err := workerPath("", self); err != nil || got != worker {
		t.Errorf("beside: got %q, %v; want %q", got, err, worker)
	}
	// None there: the error says what to do.
	_, err := workerPath("", alone)
	if err == nil || !strings.Contains(err.Error(), "--worker") || !strings.Contains(err.Error(), filepath.Dir(alone)) {
		t.Errorf("no worker beside: got %v, want an error naming the folder and --worker", err)
	}
	// --worker wins, and a relative path comes back absolute: the worker
	// runs in its work folder, not here.
	other := fakeProgram(t, tempDir(t), "my-worker")
	if got, err := workerPath(other, alone); err != nil || got != other {
		t.Errorf("--worker: got %q, %v; want %q", got, err, other)
	}
	t.Chdir(filepath.Dir(other))
	if got, err := workerPath("."+string(filepath.Separator)+filepath.Base(other), alone); err != nil || got != other {
		t.Errorf("--worker relative: got %q, %v; want %q", got, err, other)
	}
	// A --worker that is not there is an error naming the flag.
	if _, err := workerPath(filepath.Join(beside, "nope"), self); err == nil || !strings.Contains(err.Error(), "--worker") {
		t.Errorf("missing --worker: got %v", err)
	}
}

// The command fails, before any bench, when it cannot find the worker.
func TestNoWorkerFails(t *testing.T) {
	r := runBench(t, benchEnviron(t), "--noop", "--worker", filepath.Join(t.TempDir(), "nope"))
	if r.code != exitFailure || !strings.Contains(r.stderr, "--worker") || r.stdout != "" {
		t.Errorf("want exit 1 naming --worker, got %+v", r)
	}
}
