package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ade-dev/ade-worker/gen/db"
	"github.com/ade-dev/ade-worker/internal/dbtime"
	"github.com/ade-dev/ade-worker/internal/store"
	"github.com/ade-dev/ade-worker/internal/store/storetest"
)

// environmentKeys lists the key of every environment row, in key order.
func environmentKeys(t *testing.T, s *store.Store) []key {
	t.Helper()
	rows, err := s.DB().QueryContext(context.Background(),
		`SELECT workspace_id, configuration_id, engine_spec, deps_digest FROM environments`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var keys []key
	for rows.Next() {
		var k key
		if err := rows.Scan(&k.ws, &k.cfg, &k.spec, &k.digest); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(keys, func(a, b key) int {
		return cmpKeys(a, b)
	})
	return keys
}

func cmpKeys(a, b key) int {
	for _, p := range [][2]string{{a.ws, b.ws}, {a.cfg, b.cfg}, {a.spec, b.spec}, {a.digest, b.digest}} {
		if p[0] != p[1] {
			if p[0] < p[1] {
				return -1
			}
			return 1
		}
	}
	return 0
}

// EnsureEnvironments walks the distinct keys of queued runs one index seek
// at a time (a greater digest under the same prefix, else a greater engine
// spec, configuration or workspace). The keys here make each of those steps
// happen, with keys it must pass over in between: one that has an
// environment already, one whose queued runs have no attempts left, and one
// with only a terminal run.
func TestEnsureEnvironmentsFindsEveryQueuedKey(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		q := s.Queries()
		var (
			k1 = key{"ws-a", "cfg-1", "spec-1", "d-1"}
			k2 = key{"ws-a", "cfg-1", "spec-1", "d-2"} // next digest
			k3 = key{"ws-a", "cfg-1", "spec-2", "d-0"} // next spec, smaller digest
			k4 = key{"ws-a", "cfg-2", "spec-0", "d-0"} // next configuration
			k5 = key{"ws-a", "cfg-2", "spec-0", "d-5"} // queued, no attempts left
			k6 = key{"ws-b", "cfg-0", "spec-0", "d-0"} // next workspace, has an environment
			k7 = key{"ws-b", "cfg-0", "spec-0", "d-1"} // only a failed run
			k8 = key{"ws-b", "cfg-0", "spec-0", "d-2"} // after two keys that need nothing
			k9 = key{"ws-c", "cfg-0", "spec-0", "d-0"} // one run without attempts, one with
		)
		enqueue(t, s, "k6", k6, 3, 0)
		if n, err := q.EnsureEnvironments(ctx, at(time.Second)); err != nil || n != 1 {
			t.Fatalf("EnsureEnvironments for k6 = %d, %v; want 1", n, err)
		}
		enqueue(t, s, "k7", k7, 0, 0)
		if rows, err := q.FailExhaustedRuns(ctx, at(time.Second)); err != nil || len(rows) != 1 {
			t.Fatalf("FailExhaustedRuns = %v, %v; want k7 failed", rows, err)
		}
		for i, k := range []key{k9, k1, k4, k1, k3, k8, k2, k1} {
			enqueue(t, s, fmt.Sprintf("run-%d", i), k, 3, time.Duration(i)*time.Millisecond)
		}
		enqueue(t, s, "k5", k5, 0, 0)
		enqueue(t, s, "k9-dead", k9, 0, 0)

		n, err := q.EnsureEnvironments(ctx, at(2*time.Second))
		if err != nil || n != 6 {
			t.Fatalf("EnsureEnvironments = %d, %v; want 6 (k1, k2, k3, k4, k8, k9)", n, err)
		}
		want := []key{k1, k2, k3, k4, k6, k8, k9}
		if got := environmentKeys(t, s); !slices.Equal(got, want) {
			t.Fatalf("environment keys = %v\nwant %v", got, want)
		}
		if n, err := q.EnsureEnvironments(ctx, at(3*time.Second)); err != nil || n != 0 {
			t.Fatalf("second EnsureEnvironments = %d, %v; want 0", n, err)
		}
	})
}

// A run retried after a failure is queued with attempt_count > 0; if its
// max_attempts is then lowered (as the API may do), it can never be
// claimed and FailExhaustedRuns fails it, keeping its last error. A retried
// run with attempts left and a fresh run stay queued.
func TestFailExhaustedRunsFailsARetriedRunWithNoAttemptsLeft(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		q := s.Queries()
		enqueue(t, s, "retried", keyA, 3, 0)
		enqueue(t, s, "retried-ok", keyA, 3, time.Millisecond)
		enqueue(t, s, "fresh", keyA, 3, 2*time.Millisecond)
		readyEnvs(t, s, 0)
		for _, id := range []string{"retried", "retried-ok"} {
			r, ok := claimRun(t, s, time.Second, 60)
			if !ok || r.ID != id {
				t.Fatalf("claimed %q, %v; want %s", r.ID, ok, id)
			}
			row, err := q.FailRun(ctx, db.FailRunParams{Retryable: true, Now: at(time.Second), BackoffMaxSeconds: 300,
				BackoffBaseSeconds: 5, ID: id, WorkerID: ns(worker), ErrorMessage: ns("boom"), AttemptCount: r.AttemptCount})
			if err != nil || row.Status != "queued" || row.AttemptCount != 1 {
				t.Fatalf("FailRun %s = %+v, %v; want queued after attempt 1", id, row, err)
			}
		}
		if rows, err := q.FailExhaustedRuns(ctx, at(2*time.Second)); err != nil || len(rows) != 0 {
			t.Fatalf("FailExhaustedRuns with attempts left = %v, %v; want none", rows, err)
		}
		if _, err := s.DB().ExecContext(ctx, `UPDATE runs SET max_attempts = 1 WHERE id = 'retried'`); err != nil {
			t.Fatal(err)
		}
		rows, err := q.FailExhaustedRuns(ctx, at(3*time.Second))
		if err != nil || len(rows) != 1 || rows[0].ID != "retried" || rows[0].ErrorMessage.String != "boom (no attempts left)" {
			t.Fatalf("FailExhaustedRuns = %+v, %v; want retried failed with its error", rows, err)
		}
		if r := getRun(t, s, "retried"); r.Status != "failed" || !r.CompletedAt.Valid || !r.CompletedAt.Time.Equal(t0.Add(3*time.Second)) {
			t.Fatalf("retried = %+v", r)
		}
		for _, id := range []string{"retried-ok", "fresh"} {
			if r := getRun(t, s, id); r.Status != "queued" {
				t.Fatalf("%s = %+v, want queued", id, r)
			}
		}
	})
}

// FailRunsOfFailedEnvironments fails the queued runs of a failed
// environment's key queued before the failure, and no other run: not a run
// of that key that is running, nor the queued runs of another key.
func TestFailRunsOfFailedEnvironmentsTouchesOnlyItsKey(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		q := s.Queries()
		enqueue(t, s, "a-running", keyA, 3, 0)
		enqueue(t, s, "b-1", keyB, 3, time.Millisecond)
		readyEnvs(t, s, 0)
		if r, ok := claimRun(t, s, time.Second, 600); !ok || r.ID != "a-running" {
			t.Fatalf("claimed %q, %v; want a-running", r.ID, ok)
		}
		for i := range 3 {
			enqueue(t, s, fmt.Sprintf("a-%d", i), keyA, 3, time.Second+time.Duration(i)*time.Millisecond)
		}
		enqueue(t, s, "b-2", keyB, 3, 2*time.Second)
		// keyA's environment needs a rebuild and then fails for good.
		envA := environmentID(t, s, keyA)
		seen, err := q.GetEnvironment(ctx, envA)
		if err != nil {
			t.Fatal(err)
		}
		if n, err := q.RequeueEnvironment(ctx, db.RequeueEnvironmentParams{ErrorMessage: ns("interpreter missing"), ID: envA,
			Now: at(3 * time.Second), SeenUpdatedAt: seen.UpdatedAt}); err != nil || n != 1 {
			t.Fatalf("RequeueEnvironment = %d, %v", n, err)
		}
		env, err := q.ClaimEnvironment(ctx, db.ClaimEnvironmentParams{WorkerID: ns(worker), Now: at(3 * time.Second), LeaseSeconds: 60})
		if err != nil || env.ID != envA {
			t.Fatalf("ClaimEnvironment = %+v, %v; want %s", env, err, envA)
		}
		if row, err := q.FailEnvironmentBuild(ctx, db.FailEnvironmentBuildParams{MaxAttempts: 1, Now: at(4 * time.Second),
			ErrorMessage: ns("no such package"), ID: envA, WorkerID: ns(worker), AttemptCount: env.AttemptCount}); err != nil || row.Status != "failed" {
			t.Fatalf("FailEnvironmentBuild = %+v, %v", row, err)
		}
		rows, err := q.FailRunsOfFailedEnvironments(ctx, at(5*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, r := range rows {
			ids = append(ids, r.ID)
		}
		slices.Sort(ids)
		if want := []string{"a-0", "a-1", "a-2"}; !slices.Equal(ids, want) {
			t.Fatalf("failed %v, want %v", ids, want)
		}
		for id, status := range map[string]string{"a-running": "running", "b-1": "queued", "b-2": "queued", "a-1": "failed"} {
			if r := getRun(t, s, id); r.Status != status {
				t.Fatalf("%s = %+v, want %s", id, r, status)
			}
		}
		if r := getRun(t, s, "a-1"); r.ErrorMessage.String != "environment build failed: no such package" {
			t.Fatalf("a-1 error = %q", r.ErrorMessage.String)
		}
	})
}

func environmentID(t *testing.T, s *store.Store, k key) string {
	t.Helper()
	var id string
	err := s.DB().QueryRowContext(context.Background(),
		`SELECT id FROM environments WHERE workspace_id = @ws AND configuration_id = @cfg
		 AND engine_spec = @spec AND deps_digest = @digest`,
		sql.Named("ws", k.ws), sql.Named("cfg", k.cfg), sql.Named("spec", k.spec), sql.Named("digest", k.digest)).Scan(&id)
	if err != nil {
		t.Fatalf("environment of %v: %v", k, err)
	}
	return id
}

// ListExpiredRunArtifacts pages through every expired terminal run once, in
// (completed_at, id) order, though runs share completion times across a page
// boundary; a run with a completed_at that is not terminal (the API queued it
// again) is not listed.
func TestListExpiredRunArtifactsPagesThroughTies(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		q := s.Queries()
		const n = 1100
		for i := range n {
			// Three runs per second: 500 per page splits a group of ties.
			enqueue(t, s, fmt.Sprintf("run-%04d", i), keyA, 3, time.Duration(i/3)*time.Second)
		}
		for _, stmt := range []string{
			`UPDATE runs SET status = 'succeeded', completed_at = created_at`,
			`UPDATE runs SET status = 'queued' WHERE id LIKE '%0'`,
		} {
			if _, err := s.DB().ExecContext(ctx, stmt); err != nil {
				t.Fatal(err)
			}
		}
		day := 24 * time.Hour
		seen := map[string]bool{}
		var order []string
		after, afterID, pages := dbtime.NullTime{Valid: true}, "", 0
		for {
			page, err := q.ListExpiredRunArtifacts(ctx, db.ListExpiredRunArtifactsParams{
				Now: at(40 * day), TtlDays: 30, AfterCompletedAt: after, AfterID: afterID})
			if err != nil {
				t.Fatal(err)
			}
			if len(page) == 0 {
				break
			}
			pages++
			for _, r := range page {
				if seen[r.ID] || r.ID[len(r.ID)-1] == '0' {
					t.Fatalf("page %d lists %s (seen before: %v)", pages, r.ID, seen[r.ID])
				}
				seen[r.ID] = true
				order = append(order, r.ID)
			}
			last := page[len(page)-1]
			after, afterID = last.CompletedAt, last.ID
		}
		if len(seen) != n-n/10 || pages != 2 {
			t.Fatalf("listed %d runs in %d pages, want %d in 2", len(seen), pages, n-n/10)
		}
		if !slices.IsSorted(order) {
			t.Fatal("runs not listed in (completed_at, id) order")
		}
	})
}

// failEnvironmentsWithWaitingRuns queues n runs for each of keyA and keyB,
// then fails both environments for good after the runs were queued.
func failEnvironmentsWithWaitingRuns(t *testing.T, s *store.Store, n int) {
	t.Helper()
	ctx := context.Background()
	for _, k := range []key{keyA, keyB} {
		if err := s.Write(ctx, func(q *db.Queries) error {
			for i := range n {
				if err := q.InsertRun(ctx, db.InsertRunParams{
					ID: fmt.Sprintf("%s-%04d", k.digest, i), WorkspaceID: k.ws, ConfigurationID: k.cfg,
					InputDocumentID: "doc", EngineSpec: k.spec, DepsDigest: k.digest, MaxAttempts: 3,
					Now: at(time.Duration(i) * time.Millisecond),
				}); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	q := s.Queries()
	if _, err := q.EnsureEnvironments(ctx, at(time.Minute)); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		env, err := q.ClaimEnvironment(ctx, db.ClaimEnvironmentParams{WorkerID: ns(worker), Now: at(time.Minute), LeaseSeconds: 60})
		if err != nil {
			t.Fatal(err)
		}
		if row, err := q.FailEnvironmentBuild(ctx, db.FailEnvironmentBuildParams{MaxAttempts: 1, Now: at(2 * time.Minute),
			ErrorMessage: ns("no such package: " + env.DepsDigest), ID: env.ID, WorkerID: ns(worker),
			AttemptCount: env.AttemptCount}); err != nil || row.Status != "failed" {
			t.Fatalf("FailEnvironmentBuild = %+v, %v", row, err)
		}
	}
}

// Each sweep fails at most 500 runs, and the sweeps go on, environment
// after environment, until every run that waited on a failed environment
// has failed with that environment's error.
func TestFailRunsOfFailedEnvironmentsSweepsEveryFailedEnvironment(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		failEnvironmentsWithWaitingRuns(t, s, 400)
		var counts []int
		seen := map[string]bool{}
		for {
			rows, err := s.Queries().FailRunsOfFailedEnvironments(ctx, at(time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) == 0 {
				break
			}
			counts = append(counts, len(rows))
			for _, r := range rows {
				digest := r.ID[:strings.LastIndex(r.ID, "-")]
				if seen[r.ID] || r.ErrorMessage.String != "environment build failed: no such package: "+digest {
					t.Fatalf("%s failed twice (%v) or with %q", r.ID, seen[r.ID], r.ErrorMessage.String)
				}
				seen[r.ID] = true
			}
		}
		if !slices.Equal(counts, []int{500, 300}) || len(seen) != 800 {
			t.Fatalf("sweeps failed %v runs (%d distinct); want 500 then 300, 800 in all", counts, len(seen))
		}
	})
}
