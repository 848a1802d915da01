package app_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/ade-dev/ade-worker/internal/store"
	"github.com/ade-dev/ade-worker/internal/store/storetest"
)

// A run whose summary has the fields Email and email, a 1,500-character
// label, and a field name longer than the 400 characters the database keys
// on succeeds on both dialects with the same results: both fields, the
// label whole, the overlong field left out and named in a
// run.summary_too_long event. (On SQL Server the ack failed on every
// attempt with a duplicate key, so the run ended failed.)
func TestSummaryWithCaseDistinctFieldsAndLongTextIsStored(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		h := newHarness(t, st)
		e := h.enqueue("members.csv", nil)
		label := strings.Repeat("a", 1500)
		long := strings.Repeat("n", 401)
		summary := fmt.Sprintf(`{"fields":[{"field":"email","label":"%s","detected":true},{"field":"Email","detected":false},{"field":"%s","detected":true}]}`, label, long)
		engine := h.fakeEngine("summary-engine", fakeOutputDir+`
printf 'x\n' > "$OUT/normalized.csv"
echo '{"event":"engine.run.completed","scope":"run","data":`+summary+`}'
exit 0`)
		h.readyEnvironment(engine)
		h.drain(h.worker())

		if run := h.run(e.RunID); run.Status != "succeeded" {
			t.Fatalf("run %s (%s); want succeeded", run.Status, run.ErrorMessage.String)
		}
		fields, err := st.Queries().ListRunFields(context.Background(), e.RunID)
		if err != nil || len(fields) != 2 || fields[0].Field != "Email" || fields[1].Field != "email" || fields[1].Label.String != label {
			t.Fatalf("run_fields = %d rows, %v; want Email and email, the label whole", len(fields), err)
		}
		tooLong := named(h.runEvents(e.RunID), "run.summary_too_long")
		if len(tooLong) != 1 || !strings.Contains(fmt.Sprint(tooLong[0].Data["left_out"]), "401 characters long") {
			t.Fatalf("run.summary_too_long events = %+v; want one naming the 401-character field", tooLong)
		}
	})
}
