package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/ade-dev/ade-worker/gen/db"
	"github.com/ade-dev/ade-worker/internal/results"
	"github.com/ade-dev/ade-worker/internal/store"
	"github.com/ade-dev/ade-worker/internal/store/storetest"
)

// TestReplaceRunResults: results replace the run's earlier ones whole, in
// the caller's transaction, and a table whose insert the database refuses
// can be dropped and the rest written.
func TestReplaceRunResults(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		enqueue(t, s, "run-r", keyA, 3, 0)
		label, outcome := "E-mail", "pass"
		first := &results.Summary{
			Metrics: &results.Metrics{EvaluationOutcome: &outcome},
			Fields:  []results.Field{{Field: "email", Label: &label, Detected: true}, {Field: "phone"}},
			Columns: []results.Column{{ColumnIndex: 0, MappingStatus: "mapped"}, {ColumnIndex: 1, MappingStatus: "unmapped"}},
		}
		second := &results.Summary{Fields: []results.Field{{Field: "name", Detected: true}}}
		for _, sum := range []*results.Summary{first, second} {
			enc, err := store.EncodeRunResults("run-r", sum)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Write(ctx, func(q *db.Queries) error { return store.ReplaceRunResults(ctx, q, "run-r", enc) }); err != nil {
				t.Fatal(err)
			}
		}
		fields, err := s.Queries().ListRunFields(ctx, "run-r")
		if err != nil {
			t.Fatal(err)
		}
		cols, err := s.Queries().ListRunTableColumns(ctx, "run-r")
		if err != nil {
			t.Fatal(err)
		}
		_, metricsErr := s.Queries().GetRunMetrics(ctx, "run-r")
		if len(fields) != 1 || fields[0].Field != "name" || len(cols) != 0 || metricsErr == nil {
			t.Fatalf("after the second replace: fields %+v, columns %+v, metrics error %v; want only the second summary's field", fields, cols, metricsErr)
		}

		enc, err := store.EncodeRunResults("run-r", first)
		if err != nil {
			t.Fatal(err)
		}
		if enc.Rows() != 5 {
			t.Errorf("Rows() = %d, want 5 (a metrics row, 2 fields, 2 columns)", enc.Rows())
		}
		if _, ok := enc.Drop(errors.New("not a results statement")); ok {
			t.Error("Drop took an error that no results statement returned")
		}
	})
}
