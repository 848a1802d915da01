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

	"github.com/ade-dev/ade-worker/internal/app"
	"github.com/ade-dev/ade-worker/internal/enqueue"
	"github.com/ade-dev/ade-worker/internal/operator"
	"github.com/ade-dev/ade-worker/internal/store/storetest"
)

// The real binary, end to end, on a new T-SQL database (ADE_TEST_MSSQL_URL;
// skipped without it): migrate up, enqueue the example configuration and
// CSV, run --drain (which builds the environment with the reference engine
// and runs it), status, and gc --dry-run, each of which must end with exit
// code 0; the run succeeds and its results are stored.
func TestBinaryEndToEndOnTSQL(t *testing.T) {
	st := storetest.MSSQLFresh(t, false)
	bin := workerBinary(t)
	dataDir := filepath.Join(t.TempDir(), "data")
	environ := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + os.Getenv("HOME"),
		"ADE_WORKER_DATA_DIR=" + dataDir,
		"ADE_DATABASE_URL=" + st.Target().MSSQL.String(),
		"ADE_ENGINE_PACKAGE_PATH=" + filepath.Join(repoRoot, "apps", "ade-engine"),
		"ADE_WORKER_ENABLE_GC=0",
		"ADE_WORKER_CONCURRENCY=1",
		"PIP_NO_INDEX=1",
		"PIP_FIND_LINKS=/usr/share/python-wheels",
	}
	run := func(timeout time.Duration, args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Env, cmd.Dir = environ, t.TempDir()
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		start := time.Now()
		if err := cmd.Run(); err != nil {
			t.Fatalf("ade-worker %s: %v (after %s)\n--- stdout\n%s\n--- stderr\n%s", strings.Join(args, " "), err,
				time.Since(start).Round(time.Millisecond), out.String(), errb.String())
		}
		t.Logf("ade-worker %s: %s", strings.Join(args, " "), time.Since(start).Round(time.Millisecond))
		return out.String()
	}

	run(2*time.Minute, "migrate", "up")
	var e enqueue.Queued
	if err := json.Unmarshal([]byte(run(time.Minute, "enqueue", "--workspace", "ws-e2e", "--config-dir", exampleConfig,
		"--input", exampleCSV, "--json")), &e); err != nil {
		t.Fatal(err)
	}
	run(10*time.Minute, "run", "--drain")
	var s operator.Status
	if err := json.Unmarshal([]byte(run(time.Minute, "status", "--json")), &s); err != nil {
		t.Fatal(err)
	}
	if s.Runs["succeeded"] != 1 || s.Runs["failed"] != 0 || s.Environments["ready"] != 1 {
		t.Fatalf("status after the drain: runs %v, environments %v; want one succeeded run and one ready environment", s.Runs, s.Environments)
	}
	var rep app.GCReport
	if err := json.Unmarshal([]byte(run(2*time.Minute, "gc", "--dry-run", "--json")), &rep); err != nil || !rep.DryRun || len(rep.Errors) != 0 {
		t.Fatalf("gc --dry-run = %+v, %v", rep, err)
	}

	ctx := context.Background()
	r, err := st.Queries().GetRun(ctx, e.RunID)
	if err != nil || r.Status != "succeeded" || r.AttemptCount != 1 || !r.OutputPath.Valid {
		t.Fatalf("run = %+v, %v; want succeeded on attempt 1 with an output path", r, err)
	}
	fields, err := st.Queries().ListRunFields(ctx, e.RunID)
	if err != nil || len(fields) == 0 {
		t.Fatalf("run_fields = %d rows, %v; want the example's fields", len(fields), err)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "workspaces", "ws-e2e", "runs", e.RunID, r.OutputPath.String)); err != nil {
		t.Fatalf("output %s: %v", r.OutputPath.String, err)
	}
}
