package app_test

// End-to-end tests of the worker: environments, runs, leases and results on
// a real database, with real subprocesses and the real reference engine.
// Each test asserts rows and events, not only the absence of errors.

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ade-dev/ade-worker/gen/db"
	"github.com/ade-dev/ade-worker/internal/dbtime"
	"github.com/ade-dev/ade-worker/internal/enqueue"
	"github.com/ade-dev/ade-worker/internal/paths"
	"github.com/ade-dev/ade-worker/internal/store"
	"github.com/ade-dev/ade-worker/internal/store/storetest"
)

// TestReferenceEnvironmentBuild checks the package's shared environment, as
// a real worker built it offline: the row records the venv's interpreter,
// Python and engine versions, its event log shows every build step, and the
// run it was built for succeeded.
func TestReferenceEnvironmentBuild(t *testing.T) {
	t.Parallel()
	r := referenceEnvironment(t)
	h := &harness{t: t, st: r.st, dataDir: r.dataDir, logs: r.log}
	layout, err := paths.New(r.dataDir)
	if err != nil {
		t.Fatal(err)
	}
	h.layout = layout
	t.Logf("environment build and first run took %s", r.took.Round(time.Millisecond))

	env := h.environment(r.env.ID)
	ep, err := layout.Env(env.WorkspaceID, env.ConfigurationID, env.DepsDigest, env.ID)
	if err != nil {
		t.Fatal(err)
	}
	if env.Status != "ready" || env.AttemptCount != 1 || env.ErrorMessage.Valid || env.ClaimExpiresAt.Valid {
		t.Errorf("environment row: status %q attempt %d error %v lease %v; want ready, 1, no error, no lease",
			env.Status, env.AttemptCount, env.ErrorMessage, env.ClaimExpiresAt)
	}
	if env.PythonInterpreter.String != ep.Python {
		t.Errorf("python_interpreter = %q, want the venv's %q", env.PythonInterpreter.String, ep.Python)
	}
	if st, err := os.Stat(env.PythonInterpreter.String); err != nil || st.Mode()&0o111 == 0 {
		t.Errorf("interpreter %s is not an executable file: %v", env.PythonInterpreter.String, err)
	}
	out, err := exec.Command("python3", "-c", "import platform; print(platform.python_version())").Output()
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.TrimSpace(string(out)); env.PythonVersion.String != want {
		t.Errorf("python_version = %q, want %q (the python3 that made the venv)", env.PythonVersion.String, want)
	}
	if !env.LastUsedAt.Valid {
		t.Error("last_used_at is not set although a run used the environment")
	}

	runEvents := h.runEvents(r.runID)
	starts := named(runEvents, "engine.start")
	if len(starts) != 1 {
		t.Fatalf("run has %d engine.start events, want 1", len(starts))
	}
	if v := starts[0].Data["engine"].(map[string]any)["version"]; env.EngineVersion.String != v {
		t.Errorf("engine_version = %q, want %q (what the engine reports)", env.EngineVersion.String, v)
	}

	evs := h.environmentEvents(env)
	if got := workerEvents(evs, "environment."); !slices.Equal(got, []string{
		"environment.start",
		"environment.step.start", "environment.step.complete",
		"environment.step.start", "environment.step.complete",
		"environment.step.start", "environment.step.complete",
		"environment.step.start", "environment.probe", "environment.step.complete",
		"environment.complete",
	}) {
		t.Errorf("environment events = %q", got)
	}
	for _, e := range named(evs, "environment.step.complete") {
		if e.Data["exit_code"] != float64(0) {
			t.Errorf("step %v exited %v", e.Data["step"], e.Data["exit_code"])
		}
	}
	for _, e := range evs {
		if e.Context["environment_id"] != env.ID || e.Context["workspace_id"] != env.WorkspaceID {
			t.Errorf("environment event %s has context %v", e.Event, e.Context)
		}
	}

	run := h.run(r.runID)
	if run.Status != "succeeded" || run.AttemptCount != 1 || run.OutputPath.String != "output/normalized.csv" {
		t.Errorf("the reference run: status %q attempt %d output %q", run.Status, run.AttemptCount, run.OutputPath.String)
	}
}

// TestCSVAndXLSXRuns processes both example inputs with the real engine and
// checks that run_metrics, run_fields and run_table_columns hold what the
// engine reported in its own engine.run.completed event, that output_path
// names the normalized file, and that the run's events carry the worker's
// records around the engine's, with the run's context merged in.
func TestCSVAndXLSXRuns(t *testing.T) {
	t.Parallel()
	r := referenceEnvironment(t)
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		h := newHarness(t, st)
		csv := h.enqueue("members.csv", nil)
		xlsx := h.enqueue("members.xlsx", nil)
		oneSheet := h.enqueue("members.xlsx", func(r *enqueue.Request) { r.InputSheetNames = []string{"Members"} })
		env := h.readyEnvironment(r.interpreter())
		h.drain(h.worker())

		for _, e := range []struct{ name, runID string }{{"members.csv", csv.RunID}, {"members.xlsx", xlsx.RunID}, {"members.xlsx sheet Members", oneSheet.RunID}} {
			t.Run(e.name, func(t *testing.T) {
				h := *h
				h.t = t
				checkSucceeded(&h, e.runID, env.ID)
				checkResults(&h, e.runID)
			})
		}

		// input_sheet_names reaches the engine, which then reads that sheet only.
		args := named(h.runEvents(oneSheet.RunID), "run.engine.start")[0].Data["args"]
		if !strings.Contains(strings.Join(toStrings(args), " "), "--input-sheet Members") {
			t.Errorf("engine arguments %v do not name the sheet", args)
		}
		cols, err := st.Queries().ListRunTableColumns(context.Background(), oneSheet.RunID)
		if err != nil {
			t.Fatal(err)
		}
		all, err := st.Queries().ListRunTableColumns(context.Background(), xlsx.RunID)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cols {
			if c.SheetName.String != "Members" {
				t.Errorf("a column of sheet %q was recorded for a run of sheet Members only", c.SheetName.String)
			}
		}
		if len(cols) == 0 || len(cols) >= len(all) {
			t.Errorf("%d columns for sheet Members, %d for the whole workbook; want fewer but some", len(cols), len(all))
		}
	})
}

// checkSucceeded checks a run that succeeded with the engine's normalized
// output, and its events.
func checkSucceeded(h *harness, runID, envID string) []event {
	t := h.t
	t.Helper()
	run := h.run(runID)
	if run.Status != "succeeded" || run.AttemptCount != 1 || !run.ExitCode.Valid || run.ExitCode.Int64 != 0 ||
		run.ErrorMessage.Valid || !run.CompletedAt.Valid || !run.StartedAt.Valid || run.ClaimExpiresAt.Valid {
		t.Fatalf("run row = %+v; want succeeded on the first attempt, exit 0, no error, completed", run)
	}
	if run.OutputPath.String != "output/normalized.csv" {
		t.Errorf("output_path = %q, want output/normalized.csv", run.OutputPath.String)
	}
	rp := h.runPaths(runID)
	b, err := os.ReadFile(filepath.Join(rp.Dir, filepath.FromSlash(run.OutputPath.String)))
	if err != nil || len(b) == 0 {
		t.Errorf("the output file %s: %v (%d bytes)", run.OutputPath.String, err, len(b))
	}

	evs := h.runEvents(runID)
	if len(evs) < 3 || evs[0].Event != "run.start" || evs[len(evs)-1].Event != "run.complete" {
		t.Fatalf("events run from %q to %q; want run.start ... run.complete", evs[0].Event, evs[len(evs)-1].Event)
	}
	done := evs[len(evs)-1]
	if done.Data["status"] != "succeeded" || done.Data["output_path"] != "output/normalized.csv" || done.Data["exit_code"] != float64(0) {
		t.Errorf("run.complete data = %v", done.Data)
	}
	engineEvents := 0
	for _, e := range evs {
		want := map[string]any{"run_id": runID, "workspace_id": workspaceID, "configuration_id": run.ConfigurationID, "environment_id": envID}
		for k, v := range want {
			if e.Context[k] != v {
				t.Errorf("event %s: context[%s] = %v, want %v", e.Event, k, e.Context[k], v)
			}
		}
		if strings.HasPrefix(e.Event, "engine.") {
			engineEvents++
			if e.Scope == "" {
				t.Errorf("engine event %s lost its scope: %s", e.Event, e.raw)
			}
		}
	}
	if engineEvents < 3 || len(named(evs, "engine.run.completed")) != 1 {
		t.Errorf("%d engine events, %d engine.run.completed; want several and exactly one", engineEvents, len(named(evs, "engine.run.completed")))
	}
	return evs
}

// checkResults compares the run's result rows with the engine's own
// summary, read here independently of the worker's parser.
func checkResults(h *harness, runID string) {
	t := h.t
	t.Helper()
	ctx := context.Background()
	completed := named(h.runEvents(runID), "engine.run.completed")
	if len(completed) == 0 {
		t.Fatal("no engine.run.completed event")
	}
	s := summary(completed[len(completed)-1].Data)

	gotMetrics, err := h.st.Queries().GetRunMetrics(ctx, runID)
	if err != nil {
		t.Fatalf("run_metrics: %v", err)
	}
	findings := s.list("evaluation", "findings")
	bySeverity := map[string]int64{}
	for _, f := range findings {
		bySeverity[f.(map[string]any)["severity"].(string)]++
	}
	wantMetrics := db.RunMetric{
		RunID:                     runID,
		EvaluationOutcome:         s.str("evaluation", "outcome"),
		EvaluationFindingsTotal:   nint(int64(len(findings))),
		EvaluationFindingsInfo:    nint(bySeverity["info"]),
		EvaluationFindingsWarning: nint(bySeverity["warning"]),
		EvaluationFindingsError:   nint(bySeverity["error"]),
		ValidationIssuesTotal:     s.num("validation", "issues_total"),
		ValidationIssuesInfo:      s.num("validation", "issues_by_severity", "info"),
		ValidationIssuesWarning:   s.num("validation", "issues_by_severity", "warning"),
		ValidationIssuesError:     s.num("validation", "issues_by_severity", "error"),
		ValidationMaxSeverity:     s.str("validation", "max_severity"),
		WorkbookCount:             s.num("counts", "workbooks"),
		SheetCount:                s.num("counts", "sheets"),
		TableCount:                s.num("counts", "tables"),
		RowCountTotal:             s.num("counts", "rows", "total"),
		RowCountEmpty:             s.num("counts", "rows", "empty"),
		ColumnCountTotal:          s.num("counts", "columns", "total"),
		ColumnCountEmpty:          s.num("counts", "columns", "empty"),
		ColumnCountMapped:         s.num("counts", "columns", "mapped"),
		ColumnCountUnmapped:       s.num("counts", "columns", "unmapped"),
		FieldCountExpected:        s.num("counts", "fields", "expected"),
		FieldCountDetected:        s.num("counts", "fields", "detected"),
		FieldCountNotDetected:     s.num("counts", "fields", "not_detected"),
		CellCountTotal:            s.num("counts", "cells", "total"),
		CellCountNonEmpty:         s.num("counts", "cells", "non_empty"),
	}
	if !reflect.DeepEqual(gotMetrics, wantMetrics) {
		t.Errorf("run_metrics:\n got %+v\nwant %+v", gotMetrics, wantMetrics)
	}
	if !wantMetrics.RowCountTotal.Valid || wantMetrics.RowCountTotal.Int64 == 0 || !wantMetrics.EvaluationOutcome.Valid {
		t.Errorf("the engine's summary has no row count or outcome; the comparison proves little: %+v", wantMetrics)
	}

	var wantFields []db.RunField
	for _, f := range s.list("fields") {
		f := summary(f.(map[string]any))
		wantFields = append(wantFields, db.RunField{
			RunID: runID, Field: f.str("field").String, Label: f.str("label"),
			Detected:           f["detected"].(bool),
			BestMappingScore:   f.float("best_mapping_score"),
			OccurrencesTables:  f.num("occurrences", "tables").Int64,
			OccurrencesColumns: f.num("occurrences", "columns").Int64,
		})
	}
	slices.SortFunc(wantFields, func(a, b db.RunField) int { return strings.Compare(a.Field, b.Field) })
	gotFields, err := h.st.Queries().ListRunFields(ctx, runID)
	if err != nil {
		t.Fatal(err)
	}
	if len(wantFields) == 0 || !reflect.DeepEqual(gotFields, wantFields) {
		t.Errorf("run_fields:\n got %+v\nwant %+v", gotFields, wantFields)
	}

	var wantColumns []db.RunTableColumn
	for _, wb := range s.list("workbooks") {
		wb := summary(wb.(map[string]any))
		for _, sh := range wb.list("sheets") {
			sh := summary(sh.(map[string]any))
			for _, tb := range sh.list("tables") {
				tb := summary(tb.(map[string]any))
				for _, c := range tb.list("structure", "columns") {
					c := summary(c.(map[string]any))
					wantColumns = append(wantColumns, db.RunTableColumn{
						RunID:         runID,
						WorkbookIndex: wb.num("locator", "workbook", "index").Int64, WorkbookName: wb.str("locator", "workbook", "name"),
						SheetIndex: sh.num("locator", "sheet", "index").Int64, SheetName: sh.str("locator", "sheet", "name"),
						TableIndex:  tb.num("locator", "table", "index").Int64,
						ColumnIndex: c.num("index").Int64,
						HeaderRaw:   c.str("header", "raw"), HeaderNormalized: c.str("header", "normalized"),
						NonEmptyCells: c.num("non_empty_cells").Int64,
						MappingStatus: c.str("mapping", "status").String, MappedField: c.str("mapping", "field"),
						MappingScore: c.float("mapping", "score"), MappingMethod: c.str("mapping", "method"),
						UnmappedReason: c.str("mapping", "unmapped_reason"),
					})
				}
			}
		}
	}
	gotColumns, err := h.st.Queries().ListRunTableColumns(ctx, runID)
	if err != nil {
		t.Fatal(err)
	}
	if len(wantColumns) == 0 || !reflect.DeepEqual(gotColumns, wantColumns) {
		t.Errorf("run_table_columns:\n got %+v\nwant %+v", gotColumns, wantColumns)
	}
}

// summary walks the engine's JSON summary.
type summary map[string]any

func (s summary) at(path ...string) any {
	var v any = map[string]any(s)
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

func (s summary) num(path ...string) sql.NullInt64 {
	f, ok := s.at(path...).(float64)
	return sql.NullInt64{Int64: int64(f), Valid: ok}
}

func (s summary) float(path ...string) sql.NullFloat64 {
	f, ok := s.at(path...).(float64)
	return sql.NullFloat64{Float64: f, Valid: ok}
}

func (s summary) str(path ...string) sql.NullString {
	v, ok := s.at(path...).(string)
	return sql.NullString{String: v, Valid: ok && v != ""}
}

func (s summary) list(path ...string) []any {
	l, _ := s.at(path...).([]any)
	return l
}

func nint(n int64) sql.NullInt64 { return sql.NullInt64{Int64: n, Valid: true} }

// TestRunOptions checks validate_only (and its alias), dry_run, and that
// invalid run_options fail the run at once, without a retry, with an error
// a person can read and a run.complete event.
func TestRunOptions(t *testing.T) {
	t.Parallel()
	r := referenceEnvironment(t)
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		h := newHarness(t, st)
		withOptions := func(opts string) func(*enqueue.Request) {
			return func(req *enqueue.Request) { req.Options = opts }
		}
		validate := h.enqueue("members.csv", withOptions(`{"validate_only": true}`))
		validateAlias := h.enqueue("members.csv", withOptions(`{"validation_only": "yes", "log_level": "debug"}`))
		dry := h.enqueue("members.csv", withOptions(`{"dry_run": "on"}`))
		invalid := map[string]string{
			`{"log_level": "LOUD"}`:              "log_level",
			`{"dry_run": "perhaps"}`:             "dry_run",
			`{"max_findings_per_sheet": "lots"}`: "max_findings_per_sheet",
			`["validate_only"]`:                  "object",
			`{"validate_only": tru`:              "JSON",
		}
		bad := map[string]string{}
		for opts, mention := range invalid {
			e := h.enqueue("members.csv", nil)
			if n := h.exec("set_run_options", sql.Named("id", e.RunID), sql.Named("run_options", opts)); n != 1 {
				t.Fatalf("set run_options changed %d rows", n)
			}
			bad[e.RunID] = mention
		}
		h.readyEnvironment(r.interpreter())
		h.drain(h.worker())

		for _, id := range []string{validate.RunID, validateAlias.RunID} {
			run := h.run(id)
			if run.Status != "succeeded" || run.AttemptCount != 1 || run.ExitCode.Int64 != 0 || !run.ExitCode.Valid || run.OutputPath.Valid {
				t.Errorf("validate_only run %+v: want succeeded, exit 0, no output path", run)
			}
			evs := h.runEvents(id)
			starts := named(evs, "run.engine.start")
			if len(starts) != 1 || !strings.Contains(strings.Join(toStrings(starts[0].Data["args"]), " "), "ade_engine config validate") {
				t.Errorf("validate_only run started the engine as %v", starts)
			}
			if len(named(evs, "engine.config.validated")) != 1 || len(named(evs, "run.complete")) != 1 {
				t.Errorf("validate_only events: %q", eventNames(evs))
			}
			if _, err := h.st.Queries().GetRunMetrics(context.Background(), id); !errors.Is(err, sql.ErrNoRows) {
				t.Errorf("validate_only run has run_metrics (err %v); a validation has no results", err)
			}
			if _, err := os.Stat(filepath.Join(h.runPaths(id).Output, "normalized.csv")); err == nil {
				t.Error("validate_only run wrote normalized.csv")
			}
		}

		run := h.run(dry.RunID)
		if run.Status != "succeeded" || run.AttemptCount != 1 || run.ExitCode.Valid || run.OutputPath.Valid {
			t.Errorf("dry_run run %+v: want succeeded with no exit code and no output", run)
		}
		evs := h.runEvents(dry.RunID)
		if got := eventNames(evs); !slices.Equal(got, []string{"run.start", "run.dry_run", "run.complete"}) {
			t.Errorf("dry_run events = %q, want run.start, run.dry_run, run.complete (no engine)", got)
		}

		for id, mention := range bad {
			run := h.run(id)
			if run.Status != "failed" || run.AttemptCount != 1 || run.MaxAttempts != 3 || !run.CompletedAt.Valid || run.ExitCode.Valid {
				t.Errorf("run with invalid options %q: %+v; want failed on its first attempt, not retried", run.RunOptions.String, run)
			}
			if msg := run.ErrorMessage.String; !strings.HasPrefix(msg, "invalid run options: ") || !strings.Contains(msg, mention) {
				t.Errorf("run_options %s: error_message %q does not say what is wrong (%s)", run.RunOptions.String, msg, mention)
			}
			evs := h.runEvents(id)
			if got := eventNames(evs); !slices.Equal(got, []string{"run.start", "run.complete"}) {
				t.Errorf("events of a run with invalid options = %q, want run.start, run.complete", got)
			}
			if done := evs[len(evs)-1]; done.Data["status"] != "failed" || done.Data["error"] != run.ErrorMessage.String {
				t.Errorf("run.complete data = %v", done.Data)
			}
		}
	})
}

func toStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

func eventNames(evs []event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.Event
	}
	return out
}

// parseDBTime reads a timestamp in the database's text form.
func parseDBTime(t testing.TB, s string) time.Time {
	t.Helper()
	ts, err := time.Parse(dbtime.Layout, s)
	if err != nil {
		t.Fatalf("timestamp %q: %v", s, err)
	}
	return ts
}

// TestDrainWaitsOutBackoff queues a run whose first attempt fails and a dry
// run: run --drain returns only once both are done, the retry's backoff
// waited out.
func TestDrainWaitsOutBackoff(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		h := newHarness(t, st, "ADE_WORKER_BACKOFF_BASE_SECONDS=1.5")
		retried := h.enqueue("members.csv", nil)
		dry := h.enqueue("members.csv", func(r *enqueue.Request) { r.Options = `{"dry_run": true}` })
		engine := h.fakeEngine("flaky-engine", `if mkdir "$DIR/first" 2>/dev/null; then
  echo "fake engine: temporary failure" >&2
  exit 75
fi
`+fakeSucceed)
		h.readyEnvironment(engine)
		h.drain(h.worker())
		returned := time.Now()

		run := h.run(retried.RunID)
		if run.Status != "succeeded" || run.AttemptCount != 2 || run.OutputPath.String != "output/normalized.csv" {
			t.Errorf("retried run row = %+v; want succeeded on attempt 2", run)
		}
		retry := named(h.runEvents(retried.RunID), "run.retry")
		if len(retry) != 1 {
			t.Fatalf("run.retry events: %d, want 1", len(retry))
		}
		if due := parseDBTime(t, retry[0].Data["available_at"].(string)); returned.Before(due) {
			t.Errorf("drain returned at %s, before the retry was due at %s", returned, due)
		}
		if run := h.run(dry.RunID); run.Status != "succeeded" {
			t.Errorf("dry run row = %+v; want succeeded", run)
		}
		pending, err := st.Queries().PendingWork(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if pending.HasRunningRun+pending.HasPendingEnvironment+pending.HasQueuedRun != 0 {
			t.Errorf("drain returned with work pending: %+v", pending)
		}
	})
}

// TestBadInputsFailClearly queues runs whose inputs are wrong in the ways an
// API row can be: the document row is gone, its stored_uri leaves the
// documents folder or names another scheme, its file is missing, the
// configuration package is missing. Each run fails with an error that says
// which, the worker keeps going, and the engine never starts. Only the
// missing file is retried: the API may still be writing it.
func TestBadInputsFailClearly(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		h := newHarness(t, st)
		engine := h.fakeEngine("engine", `echo "the engine must not start" >&2
exit 9`)
		type badRun struct {
			name     string
			runID    string
			attempts int64
			want     []string
		}
		var runs []badRun

		e := h.enqueue("members.csv", nil)
		h.exec("delete_document", sql.Named("id", e.DocumentID))
		runs = append(runs, badRun{"document row gone", e.RunID, 1, []string{"document " + e.DocumentID + " not found"}})

		e = h.enqueue("members.csv", nil)
		h.exec("set_document_uri", sql.Named("id", e.DocumentID), sql.Named("stored_uri", "file:../../../../../../etc/passwd"))
		runs = append(runs, badRun{"stored_uri leaves the documents folder", e.RunID, 1, []string{"input document: ", "outside the documents folder"}})

		e = h.enqueue("members.csv", nil)
		h.exec("set_document_uri", sql.Named("id", e.DocumentID), sql.Named("stored_uri", "s3://bucket/members.csv"))
		runs = append(runs, badRun{"stored_uri of another scheme", e.RunID, 1, []string{"input document: ", "s3://bucket/members.csv"}})

		e = h.enqueue("members.csv", func(r *enqueue.Request) { r.MaxAttempts = 2 })
		docs, err := h.layout.DocumentsDir(workspaceID)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.RemoveAll(filepath.Join(docs, e.DocumentID)); err != nil {
			t.Fatal(err)
		}
		runs = append(runs, badRun{"document file missing", e.RunID, 2, []string{"input document: ", "does not exist"}})

		cfgID := newID()
		e = h.enqueue("members.csv", func(r *enqueue.Request) { r.ConfigurationID = cfgID })
		cfgDir, err := h.layout.ConfigPackageDir(workspaceID, cfgID)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.RemoveAll(cfgDir); err != nil {
			t.Fatal(err)
		}
		runs = append(runs, badRun{"configuration package missing", e.RunID, 1, []string{"configuration package missing"}})

		if envs := h.readyEnvironments(engine); len(envs) != 2 {
			t.Fatalf("%d environments, want 2 (two configurations)", len(envs))
		}
		h.drain(h.worker())

		if calls := h.calls("engine"); len(calls) != 0 {
			t.Errorf("the engine started %d times; no run had a usable input", len(calls))
		}
		for _, b := range runs {
			run := h.run(b.runID)
			if run.Status != "failed" || run.AttemptCount != b.attempts || !run.CompletedAt.Valid || run.ExitCode.Valid {
				t.Errorf("%s: run row = %+v; want failed after %d attempt(s), no exit code", b.name, run, b.attempts)
			}
			for _, want := range b.want {
				if !strings.Contains(run.ErrorMessage.String, want) {
					t.Errorf("%s: error_message %q does not contain %q", b.name, run.ErrorMessage.String, want)
				}
			}
			evs := h.runEvents(b.runID)
			wantEvents := []string{"run.start", "run.complete"}
			if b.attempts == 2 {
				wantEvents = []string{"run.start", "run.retry", "run.start", "run.complete"}
			}
			if got := eventNames(evs); !slices.Equal(got, wantEvents) {
				t.Errorf("%s: events = %q, want %q", b.name, got, wantEvents)
			}
			if done := evs[len(evs)-1]; done.Data["error"] != run.ErrorMessage.String {
				t.Errorf("%s: run.complete data = %v", b.name, done.Data)
			}
		}
	})
}
