package app

import (
	"context"
	"os"
	"strings"
	"testing"
)

// TestRecordSuccessLeavesOutWhatTheDatabaseRefuses: a part of a succeeded
// outcome the database refuses for good is left out, each part once: a
// results table, then the output path; a run whose bare success is refused
// fails for good with the reason. Nothing is retried in a loop.
func TestRecordSuccessLeavesOutWhatTheDatabaseRefuses(t *testing.T) {
	t.Parallel()
	w, st, e := benchWorker(t, "/bin/true", "ADE_WORKER_CONCURRENCY=4")
	ctx := context.Background()
	if err := benchEnqueue(ctx, st, e, 2, true); err != nil {
		t.Fatal(err)
	}
	cs, err := w.claimRuns(ctx, 3)
	if err != nil || len(cs) != 3 {
		t.Fatalf("claimed %d runs, %v; want 3", len(cs), err)
	}
	text, err := os.ReadFile("testdata/sqlite/refuse_outcomes.sql")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.DB().ExecContext(ctx, string(text)); err != nil {
		t.Fatal(err)
	}

	poisonColumns := benchSummary(t, 2, 3)
	raw := "poison"
	poisonColumns.Columns[1].HeaderRaw = &raw
	zero, ninetyNine := 0, 99
	outs := []runOutcome{
		{kind: outcomeSucceeded, exitCode: &zero, summary: poisonColumns, outputPath: "output/out.csv"},
		{kind: outcomeSucceeded, exitCode: &zero, summary: benchSummary(t, 2, 3), outputPath: "output/poison.csv"},
		{kind: outcomeSucceeded, exitCode: &ninetyNine, summary: benchSummary(t, 2, 3), outputPath: "output/out.csv"},
	}
	for i, c := range cs {
		w.finishRun(ctx, *c.run, outs[i], nil, w.log, 0)
	}

	type want struct {
		status, output, errHas string
		fields, columns        int
	}
	for i, wnt := range []want{
		{"succeeded", "output/out.csv", "run_table_columns rows (insert run_table_columns: constraint failed: column refused", 2, 0},
		{"succeeded", "", "output_path (constraint failed: output path refused", 2, 3},
		{"failed", "", "the outcome could not be stored: constraint failed: success refused", 0, 0},
	} {
		id := cs[i].run.ID
		r, err := st.Queries().GetRun(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		fields, _ := st.Queries().ListRunFields(ctx, id)
		cols, _ := st.Queries().ListRunTableColumns(ctx, id)
		if r.Status != wnt.status || r.OutputPath.String != wnt.output || !strings.Contains(r.ErrorMessage.String, wnt.errHas) ||
			len(fields) != wnt.fields || len(cols) != wnt.columns {
			t.Errorf("run %d: %s, output %q, error %q, %d fields, %d columns; want %s, %q, an error with %q, %d and %d",
				i, r.Status, r.OutputPath.String, r.ErrorMessage.String, len(fields), len(cols), wnt.status, wnt.output, wnt.errHas, wnt.fields, wnt.columns)
		}
	}
}
