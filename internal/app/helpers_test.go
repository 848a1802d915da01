package app

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/ade-dev/ade-worker/gen/db"
)

// listRuns reads every run row of w's database.
func listRuns(t *testing.T, w *Worker) []db.Run {
	t.Helper()
	ctx := context.Background()
	text, err := os.ReadFile("testdata/" + string(w.st.Dialect()) + "/list_run_ids.sql")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := w.st.DB().QueryContext(ctx, string(text))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	runs := make([]db.Run, len(ids))
	for i, id := range ids {
		if runs[i], err = w.st.Queries().GetRun(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	return runs
}

// waitUntil polls cond until it holds, failing the test after a minute.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited a minute for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
