package app

import (
	"context"
	"testing"

	"github.com/ade-dev/ade-worker/gen/db"
	"github.com/ade-dev/ade-worker/internal/results"
	"github.com/ade-dev/ade-worker/internal/store"
)

// A summary with more fields and columns than one statement may insert is
// written in chunks of store.ResultChunk rows (SQL Server escalates a statement's
// row locks to a table lock past about 5,000), all of them, in one ack.
func TestResultsInsertedInChunks(t *testing.T) {
	const nfields, ncolumns = 2*store.ResultChunk + 500, store.ResultChunk + 1
	w, st, e := benchWorker(t, "/bin/true")
	ctx := context.Background()
	s := benchSummary(t, nfields, ncolumns)
	enc, err := store.EncodeRunResults("x", s)
	if err != nil {
		t.Fatal(err)
	}
	if fields, columns := enc.Chunks(); fields != 3 || columns != 2 {
		t.Fatalf("encoded %d field chunks and %d column chunks, want 3 and 2", fields, columns)
	}
	c, err := w.claimOne(ctx)
	if err != nil || c.run == nil {
		t.Fatalf("claim: %+v, %v (enqueued %s)", c, err, e.RunID)
	}
	out := benchOutcome(s)
	if n, err := w.ackRun(ctx, w.log, resultRows(out.summary), successAck(ctx, t, w, *c.run, out)); err != nil || n != 1 {
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
	if n, err := w.ackRun(ctx, w.log, resultRows(out.summary), successAck(ctx, t, w, *c.run, out)); err != nil || n != 0 {
		t.Errorf("a second ack of the same claim: %d rows, %v; want 0, nil", n, err)
	}
}

// Fields and table columns go through JSON and come out as the summary
// had them: the same rows, NULLs where a value was absent, a score of 0
// kept as 0, text beyond ASCII unchanged.
func TestResultsStoreTheSummarysValues(t *testing.T) {
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
	w, st, e := benchWorker(t, "/bin/true")
	ctx := context.Background()
	c, err := w.claimOne(ctx)
	if err != nil || c.run == nil {
		t.Fatalf("claim: %+v, %v (enqueued %s)", c, err, e.RunID)
	}
	if n, err := w.ackRun(ctx, w.log, resultRows(s), successAck(ctx, t, w, *c.run, benchOutcome(s))); err != nil || n != 1 {
		t.Fatalf("ack: %d rows, %v", n, err)
	}
	fields, cols := storedResults(t, st, c.run.ID)
	if len(fields) != 3 || len(cols) != 2 {
		t.Fatalf("stored %d fields and %d columns, want 3 and 2", len(fields), len(cols))
	}
	if f := fields[0]; f.Field != "missing" || f.Label.Valid || f.Detected || f.BestMappingScore.Valid {
		t.Errorf("field without label or score stored as %+v", f)
	}
	if f := fields[1]; f.Field != "name" || f.Label.String != label || !f.Detected || f.BestMappingScore.Float64 != score || f.OccurrencesColumns != 3 {
		t.Errorf("field stored as %+v", f)
	}
	if f := fields[2]; !f.BestMappingScore.Valid || f.BestMappingScore.Float64 != 0 {
		t.Errorf("a score of 0 stored as %+v", f.BestMappingScore)
	}
	if c := cols[0]; c.WorkbookName.String != name || c.HeaderRaw.String != label || c.NonEmptyCells != 7 || c.MappedField.String != label ||
		c.MappingScore.Float64 != score || c.SheetIndex != 1 || c.TableIndex != 2 || c.SheetName.Valid {
		t.Errorf("mapped column stored as %+v", c)
	}
	if c := cols[1]; c.MappingStatus != "unmapped" || c.UnmappedReason.String != reason || c.MappedField.Valid || c.WorkbookName.Valid {
		t.Errorf("unmapped column stored as %+v", c)
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
