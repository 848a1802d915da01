package app

import (
	"context"
	"testing"
)

// A summary with more fields and columns than one statement may insert is
// written in chunks of columnChunk rows (SQL Server escalates a statement's
// row locks to a table lock past about 5,000), all of them, in one ack.
func TestResultsInsertedInChunks(t *testing.T) {
	const nfields, ncolumns = 2*columnChunk + 500, columnChunk + 1
	w, st, e := benchWorker(t, "/bin/true")
	ctx := context.Background()
	s := benchSummary(t, nfields, ncolumns)
	enc, err := encodeResults("x", s)
	if err != nil {
		t.Fatal(err)
	}
	if len(enc.fields) != 3 || len(enc.columns) != 2 {
		t.Fatalf("encoded %d field chunks and %d column chunks, want 3 and 2", len(enc.fields), len(enc.columns))
	}
	c, err := w.claim(ctx)
	if err != nil || c.run == nil {
		t.Fatalf("claim: %+v, %v (enqueued %s)", c, err, e.RunID)
	}
	out := benchOutcome(s)
	if n, err := w.ackRun(ctx, w.log, resultRows(out.summary), w.succeededAck(ctx, *c.run, out)); err != nil || n != 1 {
		t.Fatalf("ack: %d rows, %v", n, err)
	}
	fields, err := st.Queries().ListRunFields(ctx, c.run.ID)
	if err != nil {
		t.Fatal(err)
	}
	cols, err := st.Queries().ListRunTableColumns(ctx, c.run.ID)
	if err != nil {
		t.Fatal(err)
	}
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
