package app

import (
	"context"
	"reflect"
	"testing"

	"github.com/ade-dev/ade-worker/gen/db"
	"github.com/ade-dev/ade-worker/internal/results"
	"github.com/ade-dev/ade-worker/internal/store"
)

// A summary with more fields and columns than one statement may insert is
// written in chunks of columnChunk rows (SQL Server escalates a statement's
// row locks to a table lock past about 5,000), all of them, in one ack.
func TestResultsInsertedInChunks(t *testing.T) {
	const nfields, ncolumns = 2*columnChunk + 500, columnChunk + 1
	w, st, e := benchWorker(t, "/bin/true")
	ctx := context.Background()
	s := benchSummary(t, nfields, ncolumns)
	enc, err := encodeResults("x", s, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(enc.fields) != 3 || len(enc.columns) != 2 {
		t.Fatalf("encoded %d field chunks and %d column chunks, want 3 and 2", len(enc.fields), len(enc.columns))
	}
	// The worker under test writes them as SQL Server does: chunk by chunk.
	w.resultsAsJSON = true
	c, err := w.claim(ctx)
	if err != nil || c.run == nil {
		t.Fatalf("claim: %+v, %v (enqueued %s)", c, err, e.RunID)
	}
	out := benchOutcome(s)
	if n, err := w.ackRun(ctx, w.log, resultRows(out.summary), w.succeededAck(ctx, *c.run, out)); err != nil || n != 1 {
		t.Fatalf("ack: %d rows, %v", n, err)
	}
	fields, cols := storedResults(t, st, c.run.ID)
	if len(fields) != nfields || len(cols) != ncolumns {
		t.Fatalf("stored %d fields and %d columns, want %d and %d", len(fields), len(cols), nfields, ncolumns)
	}
	seen := map[string]bool{}
	for _, f := range fields {
		seen[f.Field] = true
	}
	if len(seen) != nfields {
		t.Errorf("%d distinct fields stored, want %d", len(seen), nfields)
	}
	// A second ack of the same attempt is fenced out and writes nothing.
	if n, err := w.ackRun(ctx, w.log, resultRows(out.summary), w.succeededAck(ctx, *c.run, out)); err != nil || n != 0 {
		t.Errorf("a second ack of the same claim: %d rows, %v; want 0, nil", n, err)
	}
}

// Fields and table columns inserted row by row (SQLite's way) are stored
// exactly as the JSON chunks SQL Server's way stores them: same rows, same
// NULLs, same values, from a summary that has both.
func TestResultRowsAndJSONChunksStoreTheSame(t *testing.T) {
	label, reason, name := "Name — ünïcode", "no header", "book.xlsx"
	score, zero := 0.25, 0.0
	s := &results.Summary{
		Fields: []results.Field{
			{Field: "name", Label: &label, Detected: true, BestMappingScore: &score, OccurrencesTables: 2, OccurrencesColumns: 3},
			{Field: "missing", Detected: false},
			{Field: "zero", BestMappingScore: &zero},
		},
		Columns: []results.Column{
			{WorkbookIndex: 0, WorkbookName: &name, SheetIndex: 1, TableIndex: 2, ColumnIndex: 0, HeaderRaw: &label,
				NonEmptyCells: 7, MappingStatus: "mapped", MappedField: &label, MappingScore: &score},
			{WorkbookIndex: 0, SheetIndex: 1, TableIndex: 2, ColumnIndex: 1, MappingStatus: "unmapped", UnmappedReason: &reason},
		},
	}
	stored := map[bool][2]any{}
	for _, asJSON := range []bool{false, true} {
		w, st, e := benchWorker(t, "/bin/true")
		w.resultsAsJSON = asJSON
		ctx := context.Background()
		c, err := w.claim(ctx)
		if err != nil || c.run == nil {
			t.Fatalf("claim: %+v, %v (enqueued %s)", c, err, e.RunID)
		}
		if n, err := w.ackRun(ctx, w.log, resultRows(s), w.succeededAck(ctx, *c.run, benchOutcome(s))); err != nil || n != 1 {
			t.Fatalf("ack (JSON %t): %d rows, %v", asJSON, n, err)
		}
		fields, cols := storedResults(t, st, c.run.ID)
		for i := range fields {
			fields[i].RunID = ""
		}
		for i := range cols {
			cols[i].RunID = ""
		}
		if len(fields) != 3 || len(cols) != 2 {
			t.Fatalf("JSON %t: stored %d fields and %d columns, want 3 and 2", asJSON, len(fields), len(cols))
		}
		if f := fields[0]; f.Field != "missing" || f.Label.Valid || f.Detected || f.BestMappingScore.Valid {
			t.Errorf("JSON %t: field without label or score stored as %+v", asJSON, f)
		}
		if f := fields[1]; f.Field != "name" || f.Label.String != label || !f.Detected || f.BestMappingScore.Float64 != score || f.OccurrencesColumns != 3 {
			t.Errorf("JSON %t: field stored as %+v", asJSON, f)
		}
		if f := fields[2]; !f.BestMappingScore.Valid || f.BestMappingScore.Float64 != 0 {
			t.Errorf("JSON %t: a score of 0 stored as %+v", asJSON, f.BestMappingScore)
		}
		if c := cols[1]; c.MappingStatus != "unmapped" || c.UnmappedReason.String != reason || c.MappedField.Valid || c.WorkbookName.Valid {
			t.Errorf("JSON %t: unmapped column stored as %+v", asJSON, c)
		}
		stored[asJSON] = [2]any{fields, cols}
	}
	if !reflect.DeepEqual(stored[false], stored[true]) {
		t.Errorf("row by row and JSON chunks stored different rows:\n rows: %+v\n JSON: %+v", stored[false], stored[true])
	}
}

// storedResults is what the database holds of a run's fields and columns.
func storedResults(t *testing.T, st *store.Store, runID string) ([]db.RunField, []db.RunTableColumn) {
	t.Helper()
	ctx := context.Background()
	fields, err := st.Queries().ListRunFields(ctx, runID)
	if err != nil {
		t.Fatal(err)
	}
	cols, err := st.Queries().ListRunTableColumns(ctx, runID)
	if err != nil {
		t.Fatal(err)
	}
	return fields, cols
}
