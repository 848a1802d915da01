package app_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ade-dev/ade-worker/gen/db"
	"github.com/ade-dev/ade-worker/internal/store/storetest"
)

// poisonEngine succeeds; the first run it serves reports a field the
// database refuses (see testdata/sqlite/poison_run_fields.sql), the others
// an ordinary field. Every run reports metrics and a table column.
const poisonEngine = fakeOutputDir + `
FIELD=email
if mkdir "$DIR/poisoned" 2>/dev/null; then FIELD=poison; fi
printf 'email\nada@example.com\n' > "$OUT/normalized.csv"
echo '{"timestamp":"2026-01-01T00:00:00Z","level":"info","event":"engine.run.completed","message":"done","scope":"run","data":{"counts":{"rows":{"total":1,"empty":0}},"fields":[{"field":"'"$FIELD"'","detected":"yes"},{"field":"phone","detected":0}],"workbooks":[{"locator":{"workbook":{"index":0,"name":"in.csv"}},"sheets":[{"locator":{"sheet":{"index":0,"name":"in"}},"tables":[{"locator":{"table":{"index":0}},"structure":{"columns":[{"index":0,"header":{"raw":"email"},"mapping":{"status":"mapped","field":"email"}}]}}]}]}],"outputs":{"normalized":{"path":"'"$OUT"'/normalized.csv"}}}}'
exit 0`

// TestPermanentOutcomeErrorIsNotRetried: the database refuses a run's
// results with a constraint error, which no retry mends. The run is not
// retried in a loop: it succeeds at once, within one lease, without the
// refused rows, with the reason in error_message and a run.results_dropped
// event; the rest of its results are stored, and the worker goes on with
// the other runs, before and after.
func TestPermanentOutcomeErrorIsNotRetried(t *testing.T) {
	t.Parallel()
	st := storetest.SQLite(t)
	h := newHarness(t, st, "ADE_WORKER_LEASE_SECONDS=20")
	h.exec("poison_run_fields")
	var ids []string
	for range 3 {
		ids = append(ids, h.enqueue("members.csv", nil).RunID)
	}
	h.readyEnvironment(h.fakeEngine("engine", poisonEngine))
	wr := h.start(h.worker())
	for _, id := range ids {
		h.waitRun(id, "the run to end", func(r db.Run) bool { return r.Status == "succeeded" || r.Status == "failed" })
	}

	poisoned := 0
	for _, id := range ids {
		r := h.run(id)
		fields, err := st.Queries().ListRunFields(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		cols, err := st.Queries().ListRunTableColumns(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		_, metricsErr := st.Queries().GetRunMetrics(context.Background(), id)
		if r.Status != "succeeded" || r.AttemptCount != 1 || len(cols) != 1 || metricsErr != nil {
			t.Errorf("run %s: %s on attempt %d, %d columns, metrics %v; want succeeded on attempt 1 with its columns and metrics",
				id, r.Status, r.AttemptCount, len(cols), metricsErr)
		}
		if !r.ErrorMessage.Valid {
			if len(fields) != 2 {
				t.Errorf("run %s: %d fields stored, want 2", id, len(fields))
			}
			continue
		}
		poisoned++
		msg := r.ErrorMessage.String
		if !strings.Contains(msg, "run_fields") || !strings.Contains(msg, "poisoned field refused") || len(fields) != 0 {
			t.Errorf("poisoned run %s: error %q, %d fields; want the refused run_fields named and none stored", id, msg, len(fields))
		}
		if took := r.CompletedAt.Time.Sub(r.StartedAt.Time.Time); took > 20*time.Second {
			t.Errorf("poisoned run took %s from its start, more than one lease", took)
		}
		evs := h.runEvents(id)
		if len(named(evs, "run.results_dropped")) != 1 {
			t.Errorf("events %q: want one run.results_dropped", workerEvents(evs, "run."))
		}
		if c := named(evs, "run.complete"); len(c) != 1 || c[0].Data["error"] != msg {
			t.Errorf("run.complete %+v: want its error to be %q", c, msg)
		}
	}
	if poisoned != 1 {
		t.Fatalf("%d runs had their results refused, want 1", poisoned)
	}
	if n := strings.Count(h.logs.String(), "writing a job's outcome failed; retrying"); n != 0 {
		t.Errorf("the worker retried an outcome %d times", n)
	}

	// Still responsive: a run queued now is done promptly.
	later := h.enqueue("members.csv", nil)
	h.waitRun(later.RunID, "a later run to succeed", func(r db.Run) bool { return r.Status == "succeeded" })
	if err := wr.stop(t); err != nil {
		t.Fatal(err)
	}
}
