package store_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ade-dev/ade-worker/gen/db"
	"github.com/ade-dev/ade-worker/internal/dbtime"
	"github.com/ade-dev/ade-worker/internal/store"
	"github.com/ade-dev/ade-worker/internal/store/storetest"
)

// t0 is the pinned "now" of these tests; at(d) is t0+d as a query argument.
var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func at(d time.Duration) dbtime.Time { return dbtime.From(t0.Add(d)) }

func ns(s string) sql.NullString { return sql.NullString{String: s, Valid: true} }

const worker = "worker-a"

// key is an environment key; runs and environments share it.
type key struct{ ws, cfg, spec, digest string }

var keyA = key{"ws-1", "cfg-1", "apps/ade-engine", "sha256:aaa"}
var keyB = key{"ws-1", "cfg-2", "apps/ade-engine", "sha256:bbb"}

// enqueue inserts a configuration, a document and a queued run at t0+d.
func enqueue(t *testing.T, s *store.Store, id string, k key, maxAttempts int64, d time.Duration) {
	t.Helper()
	ctx := context.Background()
	err := s.Write(ctx, func(q *db.Queries) error {
		if err := q.UpsertConfiguration(ctx, db.UpsertConfigurationParams{ID: k.cfg, WorkspaceID: k.ws, Now: at(d)}); err != nil {
			return err
		}
		if err := q.InsertDocument(ctx, db.InsertDocumentParams{
			ID: "doc-" + id, WorkspaceID: k.ws, OriginalFilename: "in.csv", StoredUri: "file:in.csv", Now: at(d),
		}); err != nil {
			return err
		}
		return q.InsertRun(ctx, db.InsertRunParams{
			ID: id, WorkspaceID: k.ws, ConfigurationID: k.cfg, InputDocumentID: "doc-" + id,
			EngineSpec: k.spec, DepsDigest: k.digest, Now: at(d), MaxAttempts: maxAttempts,
		})
	})
	if err != nil {
		t.Fatalf("enqueue %s: %v", id, err)
	}
}

// readyEnv ensures, claims and marks ready every environment the queue needs.
func readyEnvs(t *testing.T, s *store.Store, d time.Duration) []string {
	t.Helper()
	ctx := context.Background()
	q := s.Queries()
	if _, err := q.EnsureEnvironments(ctx, at(d)); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for {
		env, err := q.ClaimEnvironment(ctx, db.ClaimEnvironmentParams{WorkerID: ns(worker), Now: at(d), LeaseSeconds: 60})
		if errors.Is(err, sql.ErrNoRows) {
			return ids
		}
		if err != nil {
			t.Fatal(err)
		}
		n, err := q.MarkEnvironmentReady(ctx, db.MarkEnvironmentReadyParams{
			PythonVersion: ns("3.11.7"), PythonInterpreter: ns("/venv/bin/python"), EngineVersion: ns("1.0"),
			Now: at(d), ID: env.ID, WorkerID: ns(worker), AttemptCount: env.AttemptCount,
		})
		if err != nil || n != 1 {
			t.Fatalf("mark ready: %d, %v", n, err)
		}
		ids = append(ids, env.ID)
	}
}

func getRun(t *testing.T, s *store.Store, id string) db.Run {
	t.Helper()
	r, err := s.Queries().GetRun(context.Background(), id)
	if err != nil {
		t.Fatalf("get run %s: %v", id, err)
	}
	return r
}

func claimRun(t *testing.T, s *store.Store, d time.Duration, lease float64) (db.ClaimRunRow, bool) {
	t.Helper()
	r, err := s.Queries().ClaimRun(context.Background(), db.ClaimRunParams{WorkerID: ns(worker), Now: at(d), LeaseSeconds: lease})
	if errors.Is(err, sql.ErrNoRows) {
		return r, false
	}
	if err != nil {
		t.Fatalf("claim run: %v", err)
	}
	return r, true
}

func TestEnsureAndClaimEnvironments(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		q := s.Queries()
		enqueue(t, s, "run-1", keyA, 3, 0)
		enqueue(t, s, "run-2", keyA, 3, time.Second)
		enqueue(t, s, "run-3", keyB, 3, 2*time.Second)
		enqueue(t, s, "run-dead", key{"ws-1", "cfg-3", "e", "d"}, 0, 3*time.Second) // never claimable

		n, err := q.EnsureEnvironments(ctx, at(5*time.Second))
		if err != nil || n != 2 {
			t.Fatalf("EnsureEnvironments = %d, %v; want 2 new keys", n, err)
		}
		if n, err := q.EnsureEnvironments(ctx, at(6*time.Second)); err != nil || n != 0 {
			t.Fatalf("second EnsureEnvironments = %d, %v; want 0", n, err)
		}

		// Not due before its available_at.
		if _, err := q.ClaimEnvironment(ctx, db.ClaimEnvironmentParams{WorkerID: ns(worker), Now: at(time.Second), LeaseSeconds: 30}); !errors.Is(err, sql.ErrNoRows) {
			t.Fatalf("claim before due: %v, want no rows", err)
		}
		first, err := q.ClaimEnvironment(ctx, db.ClaimEnvironmentParams{WorkerID: ns(worker), Now: at(10 * time.Second), LeaseSeconds: 30})
		if err != nil {
			t.Fatal(err)
		}
		if first.AttemptCount != 1 || !first.ClaimExpiresAt.Valid || !first.ClaimExpiresAt.Time.Equal(t0.Add(40*time.Second)) {
			t.Fatalf("claimed env = %+v", first)
		}
		second, err := q.ClaimEnvironment(ctx, db.ClaimEnvironmentParams{WorkerID: ns("worker-b"), Now: at(10 * time.Second), LeaseSeconds: 30})
		if err != nil || second.ID == first.ID {
			t.Fatalf("second claim = %+v, %v", second, err)
		}
		if _, err := q.ClaimEnvironment(ctx, db.ClaimEnvironmentParams{WorkerID: ns(worker), Now: at(10 * time.Second), LeaseSeconds: 30}); !errors.Is(err, sql.ErrNoRows) {
			t.Fatalf("third claim: %v, want no rows", err)
		}
		env, err := q.GetEnvironment(ctx, first.ID)
		if err != nil || env.Status != "building" || env.ClaimedBy.String != worker {
			t.Fatalf("env after claim = %+v, %v", env, err)
		}

		// Heartbeats are fenced on the claim.
		if n, _ := q.HeartbeatEnvironment(ctx, db.HeartbeatEnvironmentParams{Now: at(20 * time.Second), LeaseSeconds: 30, ID: first.ID, WorkerID: ns("intruder"), AttemptCount: 1}); n != 0 {
			t.Fatalf("heartbeat by another worker changed %d rows", n)
		}
		if n, _ := q.HeartbeatEnvironment(ctx, db.HeartbeatEnvironmentParams{Now: at(20 * time.Second), LeaseSeconds: 30, ID: first.ID, WorkerID: ns(worker), AttemptCount: 1}); n != 1 {
			t.Fatalf("heartbeat changed %d rows, want 1", n)
		}
		env, _ = q.GetEnvironment(ctx, first.ID)
		if !env.ClaimExpiresAt.Time.Equal(t0.Add(50 * time.Second)) {
			t.Fatalf("lease after heartbeat = %v", env.ClaimExpiresAt)
		}

		// Ready, fenced.
		if n, _ := q.MarkEnvironmentReady(ctx, db.MarkEnvironmentReadyParams{ID: first.ID, WorkerID: ns("intruder"), Now: at(30 * time.Second), AttemptCount: 1}); n != 0 {
			t.Fatalf("ready by another worker changed %d rows", n)
		}
		if n, _ := q.MarkEnvironmentReady(ctx, db.MarkEnvironmentReadyParams{
			PythonVersion: ns("3.11.7"), PythonInterpreter: ns("/x/bin/python"), EngineVersion: ns("1.2"),
			ID: first.ID, WorkerID: ns(worker), Now: at(30 * time.Second), AttemptCount: 1,
		}); n != 1 {
			t.Fatalf("ready changed %d rows", n)
		}
		env, _ = q.GetEnvironment(ctx, first.ID)
		if env.Status != "ready" || env.PythonInterpreter.String != "/x/bin/python" || env.ClaimExpiresAt.Valid {
			t.Fatalf("env after ready = %+v", env)
		}

		// Release gives the claim back without spending the attempt.
		if n, _ := q.ReleaseEnvironment(ctx, db.ReleaseEnvironmentParams{ID: second.ID, WorkerID: ns("worker-b"), Now: at(31 * time.Second), AttemptCount: 1}); n != 1 {
			t.Fatalf("release changed %d rows", n)
		}
		env, _ = q.GetEnvironment(ctx, second.ID)
		if env.Status != "queued" || env.AttemptCount != 0 || env.ClaimedBy.Valid {
			t.Fatalf("env after release = %+v", env)
		}
	})
}

func TestClaimRunNeedsReadyEnvironmentAndTouchesIt(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		q := s.Queries()
		enqueue(t, s, "run-1", keyA, 3, 0)
		if _, ok := claimRun(t, s, time.Second, 60); ok {
			t.Fatal("claimed a run whose environment does not exist")
		}
		readyEnvs(t, s, time.Second)
		r, ok := claimRun(t, s, 2*time.Second, 60)
		if !ok || r.ID != "run-1" || r.AttemptCount != 1 || !r.StartedAt.Valid || !r.StartedAt.Time.Equal(t0.Add(2*time.Second)) {
			t.Fatalf("claim = %+v, %v", r, ok)
		}
		run := getRun(t, s, "run-1")
		if run.Status != "running" || run.ClaimedBy.String != worker || !run.ClaimExpiresAt.Time.Equal(t0.Add(62*time.Second)) {
			t.Fatalf("run after claim = %+v", run)
		}
		env, err := q.UseEnvironment(ctx, db.UseEnvironmentParams{Now: at(3 * time.Second), WorkspaceID: keyA.ws, ConfigurationID: keyA.cfg, EngineSpec: keyA.spec, DepsDigest: keyA.digest})
		if err != nil || env.PythonInterpreter.String != "/venv/bin/python" {
			t.Fatalf("UseEnvironment = %+v, %v", env, err)
		}
		full, _ := q.GetEnvironment(ctx, env.ID)
		if !full.LastUsedAt.Valid || !full.LastUsedAt.Time.Equal(t0.Add(3*time.Second)) {
			t.Fatalf("last_used_at = %v", full.LastUsedAt)
		}
		if _, err := q.UseEnvironment(ctx, db.UseEnvironmentParams{Now: at(3 * time.Second), WorkspaceID: keyB.ws, ConfigurationID: keyB.cfg, EngineSpec: keyB.spec, DepsDigest: keyB.digest}); !errors.Is(err, sql.ErrNoRows) {
			t.Fatalf("UseEnvironment of a key with no ready environment: %v", err)
		}
		if n, _ := q.HeartbeatRun(ctx, db.HeartbeatRunParams{Now: at(10 * time.Second), LeaseSeconds: 60, ID: "run-1", WorkerID: ns("intruder"), AttemptCount: 1}); n != 0 {
			t.Fatalf("foreign heartbeat changed %d rows", n)
		}
		if n, _ := q.HeartbeatRun(ctx, db.HeartbeatRunParams{Now: at(10 * time.Second), LeaseSeconds: 60, ID: "run-1", WorkerID: ns(worker), AttemptCount: 1}); n != 1 {
			t.Fatalf("heartbeat changed %d rows", n)
		}
		if got := getRun(t, s, "run-1").ClaimExpiresAt.Time; !got.Equal(t0.Add(70 * time.Second)) {
			t.Fatalf("lease after heartbeat = %v", got)
		}

		// Requeue of a ready environment whose interpreter vanished: once.
		requeue := db.RequeueEnvironmentParams{ErrorMessage: ns("interpreter missing"), Now: at(11 * time.Second), ID: env.ID, SeenUpdatedAt: env.UpdatedAt}
		if n, err := q.RequeueEnvironment(ctx, requeue); n != 1 {
			t.Fatalf("requeue changed %d rows (%v)", n, err)
		}
		if n, _ := q.RequeueEnvironment(ctx, requeue); n != 0 {
			t.Fatalf("second requeue changed %d rows, want 0", n)
		}
	})
}

// Two runs of one environment both find its interpreter gone. The first
// release requeues it, it is rebuilt and ready again; the second release,
// fenced on the environment as its run saw it, leaves the rebuilt one alone
// instead of sending it to a second, needless build. (Fenced on status
// alone, the second requeue went through: 6 times in 7 on a live server.)
func TestRequeueOfAVanishedEnvironmentHappensOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		q := s.Queries()
		enqueue(t, s, "run-1", keyA, 3, 0)
		enqueue(t, s, "run-2", keyA, 3, time.Millisecond)
		readyEnvs(t, s, time.Second)
		var seen []db.UseEnvironmentRow
		for _, want := range []string{"run-1", "run-2"} {
			if r, ok := claimRun(t, s, 2*time.Second, 60); !ok || r.ID != want {
				t.Fatalf("claim = %q, %v; want %s", r.ID, ok, want)
			}
			env, err := q.UseEnvironment(ctx, db.UseEnvironmentParams{Now: at(2 * time.Second), WorkspaceID: keyA.ws,
				ConfigurationID: keyA.cfg, EngineSpec: keyA.spec, DepsDigest: keyA.digest})
			if err != nil {
				t.Fatal(err)
			}
			seen = append(seen, env)
		}

		release := func(run string, env db.UseEnvironmentRow, d time.Duration) int64 {
			t.Helper()
			var n int64
			err := s.Write(ctx, func(q *db.Queries) error {
				if _, err := q.ReleaseRun(ctx, db.ReleaseRunParams{Now: at(d), ID: run, WorkerID: ns(worker), AttemptCount: 1}); err != nil {
					return err
				}
				var err error
				n, err = q.RequeueEnvironment(ctx, db.RequeueEnvironmentParams{ErrorMessage: ns("interpreter missing"),
					Now: at(d), ID: env.ID, SeenUpdatedAt: env.UpdatedAt})
				return err
			})
			if err != nil {
				t.Fatalf("release %s: %v", run, err)
			}
			return n
		}
		if n := release("run-1", seen[0], 3*time.Second); n != 1 {
			t.Fatalf("the first release requeued %d environments, want 1", n)
		}
		if ids := readyEnvs(t, s, 4*time.Second); len(ids) != 1 || ids[0] != seen[0].ID {
			t.Fatalf("rebuilt %v, want %s", ids, seen[0].ID)
		}
		if n := release("run-2", seen[1], 5*time.Second); n != 0 {
			t.Fatalf("the second release requeued the rebuilt environment (%d rows), want it left ready", n)
		}
		if env, _ := q.GetEnvironment(ctx, seen[0].ID); env.Status != "ready" {
			t.Fatalf("environment is %s after the second release, want ready", env.Status)
		}
	})
}

func TestRunRetryBackoffAndTerminalFailure(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		q := s.Queries()
		enqueue(t, s, "run-1", keyA, 2, 0)
		readyEnvs(t, s, 0)
		if _, ok := claimRun(t, s, time.Second, 60); !ok {
			t.Fatal("no claim")
		}
		fail := func(d time.Duration, retryable bool, msg string, attempt int64) db.FailRunRow {
			row, err := q.FailRun(ctx, db.FailRunParams{
				Retryable: retryable, Now: at(d), BackoffMaxSeconds: 300, BackoffBaseSeconds: 5,
				ExitCode: sql.NullInt64{Int64: 3, Valid: true}, ErrorMessage: ns(msg), ID: "run-1", WorkerID: ns(worker),
				AttemptCount: attempt,
			})
			if err != nil {
				t.Fatalf("FailRun: %v", err)
			}
			return row
		}
		row := fail(2*time.Second, true, "boom 1", 1)
		if row.Status != "queued" || row.AttemptCount != 1 || !row.AvailableAt.Time.Equal(t0.Add(7*time.Second)) {
			t.Fatalf("first failure = %+v, want queued until t0+7s (backoff 5s)", row)
		}
		run := getRun(t, s, "run-1")
		if run.ClaimedBy.Valid || run.ClaimExpiresAt.Valid || run.CompletedAt.Valid || run.ErrorMessage.String != "boom 1" {
			t.Fatalf("run after retry = %+v", run)
		}
		if _, ok := claimRun(t, s, 6*time.Second, 60); ok {
			t.Fatal("claimed during backoff")
		}
		r, ok := claimRun(t, s, 7*time.Second, 60)
		if !ok || r.AttemptCount != 2 || !r.StartedAt.Time.Equal(t0.Add(time.Second)) {
			t.Fatalf("second claim = %+v (started_at must keep the first attempt)", r)
		}
		if getRun(t, s, "run-1").ErrorMessage.Valid {
			t.Fatal("claim did not clear error_message")
		}
		row = fail(8*time.Second, true, "boom 2", 2)
		if row.Status != "failed" || row.AttemptCount != 2 {
			t.Fatalf("last failure = %+v, want failed", row)
		}
		run = getRun(t, s, "run-1")
		if !run.CompletedAt.Valid || run.ExitCode.Int64 != 3 || run.ErrorMessage.String != "boom 2" {
			t.Fatalf("failed run = %+v", run)
		}
		// A fenced write after the run is terminal changes nothing.
		if _, err := q.FailRun(ctx, db.FailRunParams{Retryable: true, ID: "run-1", WorkerID: ns(worker), Now: at(9 * time.Second), AttemptCount: 2}); !errors.Is(err, sql.ErrNoRows) {
			t.Fatalf("FailRun on a finished run: %v, want no rows", err)
		}
	})
}

func TestBackoffGrowsAndCaps(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		enqueue(t, s, "run-1", keyA, 20, 0)
		readyEnvs(t, s, 0)
		now := time.Second
		want := []time.Duration{5, 10, 20, 40, 80, 160, 300, 300}
		for i, w := range want {
			r, ok := claimRun(t, s, now, 60)
			if !ok {
				t.Fatalf("attempt %d: no claim at %v", i+1, now)
			}
			row, err := s.Queries().FailRun(ctx, db.FailRunParams{Retryable: true, Now: at(now), BackoffMaxSeconds: 300,
				BackoffBaseSeconds: 5, ID: "run-1", WorkerID: ns(worker), ErrorMessage: ns("x"), AttemptCount: r.AttemptCount})
			if err != nil {
				t.Fatal(err)
			}
			if got := row.AvailableAt.Sub(t0.Add(now)); got != w*time.Second {
				t.Fatalf("attempt %d backoff = %v, want %v", i+1, got, w*time.Second)
			}
			now = row.AvailableAt.Sub(t0)
		}
	})
}

func TestNonRetryableFailureAndRelease(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		q := s.Queries()
		enqueue(t, s, "run-1", keyA, 3, 0)
		enqueue(t, s, "run-2", keyA, 3, time.Second)
		readyEnvs(t, s, 0)
		r1, _ := claimRun(t, s, 2*time.Second, 60)
		r2, _ := claimRun(t, s, 2*time.Second, 60)
		if r1.ID != "run-1" || r2.ID != "run-2" {
			t.Fatalf("claim order = %s, %s; want oldest first", r1.ID, r2.ID)
		}
		row, err := q.FailRun(ctx, db.FailRunParams{Retryable: false, Now: at(3 * time.Second), BackoffMaxSeconds: 300, BackoffBaseSeconds: 5, ErrorMessage: ns("bad options"), ID: "run-1", WorkerID: ns(worker), AttemptCount: 1})
		if err != nil || row.Status != "failed" || row.AttemptCount != 1 {
			t.Fatalf("non-retryable failure = %+v, %v", row, err)
		}
		if n, _ := q.ReleaseRun(ctx, db.ReleaseRunParams{Now: at(4 * time.Second), ID: "run-2", WorkerID: ns("intruder"), AttemptCount: 1}); n != 0 {
			t.Fatalf("foreign release changed %d rows", n)
		}
		if n, _ := q.ReleaseRun(ctx, db.ReleaseRunParams{Now: at(4 * time.Second), ID: "run-2", WorkerID: ns(worker), AttemptCount: 1}); n != 1 {
			t.Fatalf("release changed %d rows", n)
		}
		run := getRun(t, s, "run-2")
		if run.Status != "queued" || run.AttemptCount != 0 || run.ClaimedBy.Valid || !run.StartedAt.Valid || !run.AvailableAt.Time.Equal(t0.Add(4*time.Second)) {
			t.Fatalf("released run = %+v", run)
		}
	})
}

// DeferRun gives a run back unspent, to be claimed after the delay, with
// the reason in error_message; a foreign worker's defer changes nothing.
func TestDeferRunKeepsTheAttempt(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		q := s.Queries()
		enqueue(t, s, "run-1", keyA, 1, 0)
		readyEnvs(t, s, 0)
		if _, ok := claimRun(t, s, time.Second, 60); !ok {
			t.Fatal("nothing claimed")
		}
		p := db.DeferRunParams{ErrorMessage: ns("no space left on device"), Now: at(2 * time.Second), DelaySeconds: 2.5, ID: "run-1", WorkerID: ns("intruder"), AttemptCount: 1}
		if n, err := q.DeferRun(ctx, p); n != 0 || err != nil {
			t.Fatalf("foreign defer changed %d rows, %v", n, err)
		}
		// The same worker's defer of an earlier attempt changes nothing either.
		p.WorkerID, p.AttemptCount = ns(worker), 0
		if n, err := q.DeferRun(ctx, p); n != 0 || err != nil {
			t.Fatalf("a defer of another attempt changed %d rows, %v", n, err)
		}
		p.AttemptCount = 1
		if n, err := q.DeferRun(ctx, p); n != 1 || err != nil {
			t.Fatalf("defer changed %d rows, %v", n, err)
		}
		run := getRun(t, s, "run-1")
		if run.Status != "queued" || run.AttemptCount != 0 || run.ClaimedBy.Valid || run.ErrorMessage.String != "no space left on device" ||
			!run.AvailableAt.Time.Equal(t0.Add(4500*time.Millisecond)) {
			t.Fatalf("deferred run = %+v; want queued, attempt 0, available 2.5 s after the defer", run)
		}
		// Its one attempt is still there: it is claimed again once due.
		if _, ok := claimRun(t, s, 4*time.Second, 60); ok {
			t.Fatal("claimed before its delay was over")
		}
		if r, ok := claimRun(t, s, 5*time.Second, 60); !ok || r.AttemptCount != 1 {
			t.Fatalf("claim after the delay = %+v, %v; want attempt 1", r, ok)
		}
	})
}

func TestExpireLeases(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		q := s.Queries()
		enqueue(t, s, "run-1", keyA, 3, 0)
		enqueue(t, s, "run-2", keyA, 1, time.Second)
		readyEnvs(t, s, 0)
		claimRun(t, s, 2*time.Second, 10)
		claimRun(t, s, 2*time.Second, 10)
		params := db.ExpireRunLeasesParams{Now: at(11 * time.Second), BackoffMaxSeconds: 300, BackoffBaseSeconds: 5}
		if rows, err := q.ExpireRunLeases(ctx, params); err != nil || len(rows) != 0 {
			t.Fatalf("expired before the lease ended: %v, %v", rows, err)
		}
		params.Now = at(13 * time.Second)
		rows, err := q.ExpireRunLeases(ctx, params)
		if err != nil || len(rows) != 2 {
			t.Fatalf("ExpireRunLeases = %v, %v; want 2", rows, err)
		}
		r1, r2 := getRun(t, s, "run-1"), getRun(t, s, "run-2")
		if r1.Status != "queued" || r1.ErrorMessage.String != "lease expired" || !r1.AvailableAt.Time.Equal(t0.Add(18*time.Second)) || r1.ClaimedBy.Valid {
			t.Fatalf("run-1 after expiry = %+v", r1)
		}
		if r2.Status != "failed" || r2.ErrorMessage.String != "lease expired" || !r2.CompletedAt.Valid {
			t.Fatalf("run-2 (attempts used up) after expiry = %+v", r2)
		}

		// A building environment past its lease goes back to queued.
		enqueue(t, s, "run-3", keyB, 3, 0)
		q.EnsureEnvironments(ctx, at(20*time.Second))
		env, err := q.ClaimEnvironment(ctx, db.ClaimEnvironmentParams{WorkerID: ns(worker), Now: at(20 * time.Second), LeaseSeconds: 10})
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := q.ExpireEnvironmentLeases(ctx, at(25*time.Second)); len(got) != 0 {
			t.Fatalf("environment expired early: %v", got)
		}
		got, err := q.ExpireEnvironmentLeases(ctx, at(31*time.Second))
		if err != nil || len(got) != 1 || got[0].ID != env.ID {
			t.Fatalf("ExpireEnvironmentLeases = %v, %v", got, err)
		}
		e, _ := q.GetEnvironment(ctx, env.ID)
		if e.Status != "queued" || e.ClaimedBy.Valid {
			t.Fatalf("environment after expiry = %+v", e)
		}
	})
}

func TestFailedBuildFailsWaitingRuns(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		q := s.Queries()
		enqueue(t, s, "run-1", keyA, 3, 0)
		enqueue(t, s, "run-2", keyA, 3, time.Second)
		q.EnsureEnvironments(ctx, at(2*time.Second))
		build := func(d time.Duration) db.FailEnvironmentBuildRow {
			env, err := q.ClaimEnvironment(ctx, db.ClaimEnvironmentParams{WorkerID: ns(worker), Now: at(d), LeaseSeconds: 60})
			if err != nil {
				t.Fatalf("claim env at %v: %v", d, err)
			}
			row, err := q.FailEnvironmentBuild(ctx, db.FailEnvironmentBuildParams{
				MaxAttempts: 2, Now: at(d), BackoffMaxSeconds: 300, BackoffBaseSeconds: 5,
				ErrorMessage: ns("pip install failed: no such package"), ID: env.ID, WorkerID: ns(worker), AttemptCount: env.AttemptCount,
			})
			if err != nil {
				t.Fatalf("FailEnvironmentBuild: %v", err)
			}
			return row
		}
		row := build(3 * time.Second)
		if row.Status != "queued" || !row.AvailableAt.Time.Equal(t0.Add(8*time.Second)) {
			t.Fatalf("first build failure = %+v, want queued until t0+8s", row)
		}
		if got, _ := q.FailRunsOfFailedEnvironments(ctx, at(4*time.Second)); len(got) != 0 {
			t.Fatalf("runs failed while the build is still retrying: %v", got)
		}
		row = build(8 * time.Second)
		if row.Status != "failed" {
			t.Fatalf("second build failure = %+v, want failed", row)
		}
		got, err := q.FailRunsOfFailedEnvironments(ctx, at(9*time.Second))
		if err != nil || len(got) != 2 {
			t.Fatalf("FailRunsOfFailedEnvironments = %v, %v; want 2", got, err)
		}
		for _, id := range []string{"run-1", "run-2"} {
			r := getRun(t, s, id)
			if r.Status != "failed" || r.ErrorMessage.String != "environment build failed: pip install failed: no such package" || !r.CompletedAt.Valid {
				t.Fatalf("%s = %+v", id, r)
			}
		}
		// A failed environment is never rebuilt by ensure, nor retried
		// while no run was queued after it failed.
		if n, _ := q.EnsureEnvironments(ctx, at(10*time.Second)); n != 0 {
			t.Fatalf("ensure recreated %d environments", n)
		}
		if n, err := q.RetryFailedEnvironments(ctx, at(10*time.Second)); err != nil || n != 0 {
			t.Fatalf("RetryFailedEnvironments with no new run = %d, %v; want 0", n, err)
		}

		// A run queued after the failure gives the environment one fresh
		// series of attempts, and is not failed with the old error.
		if err := q.InsertRun(ctx, db.InsertRunParams{ID: "run-3", WorkspaceID: keyA.ws, ConfigurationID: keyA.cfg, InputDocumentID: "doc-run-1",
			EngineSpec: keyA.spec, DepsDigest: keyA.digest, Now: at(20 * time.Second), MaxAttempts: 3}); err != nil {
			t.Fatal(err)
		}
		if got, _ := q.FailRunsOfFailedEnvironments(ctx, at(21*time.Second)); len(got) != 0 {
			t.Fatalf("a run queued after the failure was failed with the old error: %v", got)
		}
		if n, err := q.RetryFailedEnvironments(ctx, at(21*time.Second)); err != nil || n != 1 {
			t.Fatalf("RetryFailedEnvironments = %d, %v; want 1", n, err)
		}
		if n, _ := q.RetryFailedEnvironments(ctx, at(22*time.Second)); n != 0 {
			t.Fatalf("second RetryFailedEnvironments = %d; want 0 (the environment is queued)", n)
		}
		row = build(22 * time.Second)
		if row.Status != "queued" || row.AttemptCount != 1 {
			t.Fatalf("first build of the fresh series = %+v, want queued with attempt 1", row)
		}
		row = build(30 * time.Second)
		if row.Status != "failed" {
			t.Fatalf("second build of the fresh series = %+v, want failed", row)
		}
		got, _ = q.FailRunsOfFailedEnvironments(ctx, at(31*time.Second))
		if len(got) != 1 || got[0].ID != "run-3" {
			t.Fatalf("after the fresh series failed: %v, want run-3 failed", got)
		}
		// No new run, no new series: no loop.
		if n, _ := q.RetryFailedEnvironments(ctx, at(40*time.Second)); n != 0 {
			t.Fatalf("RetryFailedEnvironments without a new run = %d; want 0", n)
		}
	})
}

func TestFailExhaustedRuns(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		enqueue(t, s, "zero", keyA, 0, 0)
		enqueue(t, s, "negative", keyA, -2, 0)
		enqueue(t, s, "fine", keyA, 1, 0)
		rows, err := s.Queries().FailExhaustedRuns(ctx, at(time.Second))
		if err != nil || len(rows) != 2 {
			t.Fatalf("FailExhaustedRuns = %v, %v; want 2", rows, err)
		}
		if r := getRun(t, s, "zero"); r.Status != "failed" || r.ErrorMessage.String != "no attempts left: max_attempts is 0" {
			t.Fatalf("zero = %+v", r)
		}
		if r := getRun(t, s, "negative"); r.Status != "failed" || r.ErrorMessage.String != "no attempts left: max_attempts is -2" {
			t.Fatalf("negative = %+v", r)
		}
		if r := getRun(t, s, "fine"); r.Status != "queued" {
			t.Fatalf("fine = %+v", r)
		}
	})
}

type fieldRow struct {
	Field              string   `json:"field"`
	Label              *string  `json:"label"`
	Detected           bool     `json:"detected"`
	BestMappingScore   *float64 `json:"best_mapping_score"`
	OccurrencesTables  int64    `json:"occurrences_tables"`
	OccurrencesColumns int64    `json:"occurrences_columns"`
}

type columnRow struct {
	WorkbookIndex int64    `json:"workbook_index"`
	WorkbookName  *string  `json:"workbook_name"`
	SheetIndex    int64    `json:"sheet_index"`
	SheetName     *string  `json:"sheet_name"`
	TableIndex    int64    `json:"table_index"`
	ColumnIndex   int64    `json:"column_index"`
	HeaderRaw     *string  `json:"header_raw"`
	NonEmptyCells int64    `json:"non_empty_cells"`
	MappingStatus string   `json:"mapping_status"`
	MappedField   *string  `json:"mapped_field"`
	MappingScore  *float64 `json:"mapping_score"`
}

func ptr[T any](v T) *T { return &v }

func TestCompleteRunReplacesResultsInOneTransaction(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		enqueue(t, s, "run-1", keyA, 3, 0)
		readyEnvs(t, s, 0)
		claimRun(t, s, time.Second, 60)

		ack := func(fields []fieldRow, cols []columnRow, workbooks int64) (int64, error) {
			var changed int64
			fj, _ := json.Marshal(fields)
			cj, _ := json.Marshal(cols)
			err := s.Write(ctx, func(q *db.Queries) error {
				n, err := q.CompleteRun(ctx, db.CompleteRunParams{Now: at(2 * time.Second), ExitCode: sql.NullInt64{Valid: true}, OutputPath: ns("output/normalized.csv"), ID: "run-1", WorkerID: ns(worker), AttemptCount: 1})
				if err != nil {
					return err
				}
				changed = n
				for _, del := range []func(context.Context, string) error{q.DeleteRunMetrics, q.DeleteRunFields, q.DeleteRunTableColumns} {
					if err := del(ctx, "run-1"); err != nil {
						return err
					}
				}
				if err := q.InsertRunMetrics(ctx, db.InsertRunMetricsParams{RunID: "run-1", EvaluationOutcome: ns("pass"), WorkbookCount: sql.NullInt64{Int64: workbooks, Valid: true}}); err != nil {
					return err
				}
				if err := q.InsertRunFields(ctx, db.InsertRunFieldsParams{RunID: "run-1", Fields: string(fj)}); err != nil {
					return err
				}
				return q.InsertRunTableColumns(ctx, db.InsertRunTableColumnsParams{RunID: "run-1", Columns: string(cj)})
			})
			return changed, err
		}
		fields := []fieldRow{
			{Field: "email", Label: ptr("E-mail"), Detected: true, BestMappingScore: ptr(0.93), OccurrencesTables: 1, OccurrencesColumns: 2},
			{Field: "phone", Detected: false},
		}
		cols := make([]columnRow, 0, 50)
		for i := range 50 {
			cols = append(cols, columnRow{WorkbookIndex: 0, WorkbookName: ptr("book.xlsx"), SheetIndex: 1, SheetName: ptr("Sheet2"), TableIndex: 0, ColumnIndex: int64(i), HeaderRaw: ptr(fmt.Sprintf("Col %d", i)), NonEmptyCells: int64(i * 2), MappingStatus: "unmapped"})
		}
		cols[3].MappingStatus, cols[3].MappedField, cols[3].MappingScore = "mapped", ptr("email"), ptr(0.93)
		if n, err := ack(fields, cols, 1); err != nil || n != 1 {
			t.Fatalf("ack = %d, %v", n, err)
		}
		q := s.Queries()
		run := getRun(t, s, "run-1")
		if run.Status != "succeeded" || run.OutputPath.String != "output/normalized.csv" || !run.ExitCode.Valid || run.ExitCode.Int64 != 0 || run.ClaimExpiresAt.Valid {
			t.Fatalf("run after ack = %+v", run)
		}
		m, err := q.GetRunMetrics(ctx, "run-1")
		if err != nil || m.EvaluationOutcome.String != "pass" || m.WorkbookCount.Int64 != 1 || m.SheetCount.Valid {
			t.Fatalf("metrics = %+v, %v", m, err)
		}
		gotFields, _ := q.ListRunFields(ctx, "run-1")
		if len(gotFields) != 2 || gotFields[0].Field != "email" || !gotFields[0].Detected || gotFields[0].BestMappingScore.Float64 != 0.93 ||
			gotFields[0].OccurrencesColumns != 2 || gotFields[0].Label.String != "E-mail" || gotFields[1].Detected || gotFields[1].Label.Valid {
			t.Fatalf("fields = %+v", gotFields)
		}
		gotCols, _ := q.ListRunTableColumns(ctx, "run-1")
		if len(gotCols) != 50 || gotCols[3].MappedField.String != "email" || gotCols[3].MappingStatus != "mapped" || gotCols[49].NonEmptyCells != 98 || gotCols[10].HeaderRaw.String != "Col 10" || gotCols[0].SheetName.String != "Sheet2" {
			t.Fatalf("columns = %d rows, [3]=%+v", len(gotCols), gotCols[3])
		}

		// The fence: an ack for a run no longer ours writes nothing at all.
		n, err := ack(fields[:1], cols[:1], 7)
		if err != nil || n != 0 {
			t.Fatalf("second ack = %d, %v; CompleteRun must change 0 rows", n, err)
		}
		// (The caller rolls back on 0 rows; here the transaction committed,
		// so the replace semantics show: one set of rows, never two.)
		gotCols, _ = q.ListRunTableColumns(ctx, "run-1")
		if len(gotCols) != 1 {
			t.Fatalf("replace left %d column rows, want 1", len(gotCols))
		}
	})
}

func TestGCSelectsOnlyWhatTheRulesAllow(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		q := s.Queries()
		day := 24 * time.Hour
		// cfg-1: inactive, env ready and cold -> collectable.
		// cfg-2: active -> kept.
		enqueue(t, s, "r1", keyA, 1, 0)
		enqueue(t, s, "r2", keyB, 1, 0)
		envs := readyEnvs(t, s, 0)
		if len(envs) != 2 {
			t.Fatalf("envs = %v", envs)
		}
		// Finish both runs so no queued/running run holds the keys.
		for range 2 {
			r, _ := claimRun(t, s, time.Second, 60)
			q.CompleteRun(ctx, db.CompleteRunParams{Now: at(time.Second), ID: r.ID, WorkerID: ns(worker), AttemptCount: r.AttemptCount})
		}
		if n, _ := q.SetConfigurationStatus(ctx, db.SetConfigurationStatusParams{Status: "archived", Now: at(time.Second), ID: keyA.cfg}); n != 1 {
			t.Fatalf("archive changed %d", n)
		}
		list := func(d time.Duration) []db.ListGCEnvironmentsRow {
			rows, err := q.ListGCEnvironments(ctx, db.ListGCEnvironmentsParams{Now: at(d), TtlDays: 30})
			if err != nil {
				t.Fatal(err)
			}
			return rows
		}
		if got := list(29 * day); len(got) != 0 {
			t.Fatalf("warm environments listed: %v", got)
		}
		got := list(31 * day)
		if len(got) != 1 || got[0].ConfigurationID != keyA.cfg {
			t.Fatalf("GC candidates = %+v, want only cfg-1's", got)
		}
		// A queued run with that key protects it, in the list and the delete.
		// (The API inserts it without touching the configuration.)
		if err := q.InsertRun(ctx, db.InsertRunParams{ID: "r3", WorkspaceID: keyA.ws, ConfigurationID: keyA.cfg, InputDocumentID: "doc-r1",
			EngineSpec: keyA.spec, DepsDigest: keyA.digest, Now: at(31 * day), MaxAttempts: 1}); err != nil {
			t.Fatal(err)
		}
		if got := list(31 * day); len(got) != 0 {
			t.Fatalf("environment with a queued run listed: %v", got)
		}
		if n, _ := q.DeleteGCEnvironment(ctx, db.DeleteGCEnvironmentParams{ID: got[0].ID, Now: at(31 * day), TtlDays: 30}); n != 0 {
			t.Fatalf("deleted an environment a queued run needs")
		}
		r, _ := claimRun(t, s, 31*day, 60)
		if _, err := q.UseEnvironment(ctx, db.UseEnvironmentParams{Now: at(31 * day), WorkspaceID: keyA.ws, ConfigurationID: keyA.cfg, EngineSpec: keyA.spec, DepsDigest: keyA.digest}); err != nil {
			t.Fatal(err)
		}
		q.CompleteRun(ctx, db.CompleteRunParams{Now: at(31 * day), ID: r.ID, WorkerID: ns(worker), AttemptCount: r.AttemptCount})
		// Used again at 31 days, so cold only at 61.
		if got := list(60 * day); len(got) != 0 {
			t.Fatalf("recently used environment listed: %v", got)
		}
		if n, _ := q.DeleteGCEnvironment(ctx, db.DeleteGCEnvironmentParams{ID: got[0].ID, Now: at(62 * day), TtlDays: 30}); n != 1 {
			t.Fatalf("GC delete changed %d rows, want 1", n)
		}
		if _, err := q.GetEnvironment(ctx, got[0].ID); !errors.Is(err, sql.ErrNoRows) {
			t.Fatalf("environment still there: %v", err)
		}

		// Run artifacts: terminal runs completed before the TTL, paged.
		page, err := q.ListExpiredRunArtifacts(ctx, db.ListExpiredRunArtifactsParams{Now: at(40 * day), TtlDays: 30, AfterCompletedAt: dbtime.NullTime{Valid: true}, AfterID: ""})
		if err != nil || len(page) != 2 {
			t.Fatalf("expired artifacts at day 40 = %+v, %v; want r1 and r2", page, err)
		}
		last := page[len(page)-1]
		page, _ = q.ListExpiredRunArtifacts(ctx, db.ListExpiredRunArtifactsParams{Now: at(40 * day), TtlDays: 30, AfterCompletedAt: last.CompletedAt, AfterID: last.ID})
		if len(page) != 0 {
			t.Fatalf("second page = %+v, want empty", page)
		}
	})
}

func TestStatusQueries(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		q := s.Queries()
		enqueue(t, s, "r1", keyA, 3, 0)
		enqueue(t, s, "r2", keyA, 3, time.Second)
		enqueue(t, s, "r3", keyA, 0, 2*time.Second)
		// r3 has no attempts left: it is not pending work.
		p, err := q.PendingWork(ctx)
		if err != nil || p.HasQueuedRun != 1 || p.HasRunningRun != 0 || p.HasPendingEnvironment != 0 {
			t.Fatalf("pending = %+v, %v", p, err)
		}
		readyEnvs(t, s, 3*time.Second)
		claimRun(t, s, 4*time.Second, 60)
		p, _ = q.PendingWork(ctx)
		if p.HasQueuedRun != 1 || p.HasRunningRun != 1 {
			t.Fatalf("pending after claim = %+v", p)
		}
		counts, _ := q.CountRunsByStatus(ctx)
		got := map[string]int64{}
		for _, c := range counts {
			got[c.Status] = c.Count
		}
		if got["queued"] != 2 || got["running"] != 1 {
			t.Fatalf("runs by status = %v", got)
		}
		envCounts, _ := q.CountEnvironmentsByStatus(ctx)
		if len(envCounts) != 1 || envCounts[0].Status != "ready" || envCounts[0].Count != 1 {
			t.Fatalf("environments by status = %+v", envCounts)
		}
		oldest, _ := q.OldestQueuedRun(ctx)
		if len(oldest) != 1 || oldest[0].ID != "r2" {
			t.Fatalf("oldest queued = %+v", oldest)
		}
		leases, _ := q.ListRunningLeases(ctx)
		if len(leases) != 1 || leases[0].ID != "r1" || !leases[0].ClaimExpiresAt.Time.Equal(t0.Add(64*time.Second)) {
			t.Fatalf("leases = %+v", leases)
		}
		claimRun(t, s, 5*time.Second, 60)
		p, _ = q.PendingWork(ctx)
		if p.HasQueuedRun != 0 || p.HasRunningRun != 1 {
			t.Fatalf("pending with only r3 (no attempts left) queued = %+v", p)
		}
	})
}

func TestUpsertConfigurationReactivates(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		q := s.Queries()
		for range 2 {
			if err := q.UpsertConfiguration(ctx, db.UpsertConfigurationParams{ID: "cfg", WorkspaceID: "ws", Now: at(0)}); err != nil {
				t.Fatal(err)
			}
		}
		if n, _ := q.SetConfigurationStatus(ctx, db.SetConfigurationStatusParams{Status: "inactive", ID: "cfg", Now: at(time.Second)}); n != 1 {
			t.Fatalf("status change = %d rows", n)
		}
		if err := q.UpsertConfiguration(ctx, db.UpsertConfigurationParams{ID: "cfg", WorkspaceID: "ws", Now: at(2 * time.Second)}); err != nil {
			t.Fatal(err)
		}
		// Reactivated: GC would no longer consider it inactive.
		if n, _ := q.SetConfigurationStatus(ctx, db.SetConfigurationStatusParams{Status: "active", ID: "cfg", Now: at(3 * time.Second)}); n != 1 {
			t.Fatalf("configuration row missing after upsert")
		}
	})
}

// The same worker claims a run again after its lease expired (its job was
// stuck, not dead). The first job's heartbeat and acks carry the attempt it
// was claimed for and change nothing: status and claimed_by alone are the
// same for both claims. The same holds for an environment build.
func TestAttemptCountFencesAStaleJobOfTheSameWorker(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		q := s.Queries()
		enqueue(t, s, "run-1", keyA, 3, 0)
		readyEnvs(t, s, 0)
		if r, ok := claimRun(t, s, time.Second, 10); !ok || r.AttemptCount != 1 {
			t.Fatalf("first claim = %+v, %v", r, ok)
		}
		if rows, err := q.ExpireRunLeases(ctx, db.ExpireRunLeasesParams{Now: at(20 * time.Second), BackoffMaxSeconds: 0, BackoffBaseSeconds: 0}); err != nil || len(rows) != 1 {
			t.Fatalf("expire = %v, %v", rows, err)
		}
		if r, ok := claimRun(t, s, 21*time.Second, 60); !ok || r.AttemptCount != 2 {
			t.Fatalf("second claim = %+v, %v", r, ok)
		}
		stale, current := int64(1), int64(2)
		if n, _ := q.HeartbeatRun(ctx, db.HeartbeatRunParams{Now: at(22 * time.Second), LeaseSeconds: 60, ID: "run-1", WorkerID: ns(worker), AttemptCount: stale}); n != 0 {
			t.Fatalf("the stale job's heartbeat changed %d rows", n)
		}
		if n, _ := q.CompleteRun(ctx, db.CompleteRunParams{Now: at(22 * time.Second), ID: "run-1", WorkerID: ns(worker), AttemptCount: stale}); n != 0 {
			t.Fatalf("the stale job's success ack changed %d rows", n)
		}
		if _, err := q.FailRun(ctx, db.FailRunParams{Now: at(22 * time.Second), ID: "run-1", WorkerID: ns(worker), AttemptCount: stale}); !errors.Is(err, sql.ErrNoRows) {
			t.Fatalf("the stale job's failure ack: %v, want no rows", err)
		}
		if n, _ := q.ReleaseRun(ctx, db.ReleaseRunParams{Now: at(22 * time.Second), ID: "run-1", WorkerID: ns(worker), AttemptCount: stale}); n != 0 {
			t.Fatalf("the stale job's release changed %d rows", n)
		}
		if n, _ := q.HeartbeatRun(ctx, db.HeartbeatRunParams{Now: at(22 * time.Second), LeaseSeconds: 60, ID: "run-1", WorkerID: ns(worker), AttemptCount: current}); n != 1 {
			t.Fatalf("the current job's heartbeat changed %d rows, want 1", n)
		}
		if run := getRun(t, s, "run-1"); run.Status != "running" || run.AttemptCount != 2 {
			t.Fatalf("run = %+v, want running on attempt 2", run)
		}

		enqueue(t, s, "run-2", keyB, 3, 0)
		if _, err := q.EnsureEnvironments(ctx, at(30*time.Second)); err != nil {
			t.Fatal(err)
		}
		env, err := q.ClaimEnvironment(ctx, db.ClaimEnvironmentParams{WorkerID: ns(worker), Now: at(30 * time.Second), LeaseSeconds: 10})
		if err != nil {
			t.Fatal(err)
		}
		if rows, err := q.ExpireEnvironmentLeases(ctx, at(50*time.Second)); err != nil || len(rows) != 1 {
			t.Fatalf("expire environment = %v, %v", rows, err)
		}
		again, err := q.ClaimEnvironment(ctx, db.ClaimEnvironmentParams{WorkerID: ns(worker), Now: at(51 * time.Second), LeaseSeconds: 60})
		if err != nil || again.ID != env.ID || again.AttemptCount != env.AttemptCount+1 {
			t.Fatalf("second environment claim = %+v, %v", again, err)
		}
		if n, _ := q.HeartbeatEnvironment(ctx, db.HeartbeatEnvironmentParams{Now: at(52 * time.Second), LeaseSeconds: 60, ID: env.ID, WorkerID: ns(worker), AttemptCount: env.AttemptCount}); n != 0 {
			t.Fatalf("the stale build's heartbeat changed %d rows", n)
		}
		if n, _ := q.MarkEnvironmentReady(ctx, db.MarkEnvironmentReadyParams{Now: at(52 * time.Second), ID: env.ID, WorkerID: ns(worker), AttemptCount: env.AttemptCount}); n != 0 {
			t.Fatalf("the stale build marked the environment ready (%d rows)", n)
		}
		if _, err := q.FailEnvironmentBuild(ctx, db.FailEnvironmentBuildParams{Now: at(52 * time.Second), MaxAttempts: 3, ID: env.ID, WorkerID: ns(worker), AttemptCount: env.AttemptCount}); !errors.Is(err, sql.ErrNoRows) {
			t.Fatalf("the stale build's failure ack: %v, want no rows", err)
		}
		if n, _ := q.ReleaseEnvironment(ctx, db.ReleaseEnvironmentParams{Now: at(52 * time.Second), ID: env.ID, WorkerID: ns(worker), AttemptCount: env.AttemptCount}); n != 0 {
			t.Fatalf("the stale build's release changed %d rows", n)
		}
		if n, _ := q.MarkEnvironmentReady(ctx, db.MarkEnvironmentReadyParams{Now: at(52 * time.Second), ID: env.ID, WorkerID: ns(worker), AttemptCount: again.AttemptCount}); n != 1 {
			t.Fatalf("the current build's ready changed %d rows, want 1", n)
		}
	})
}

// Field names are compared as SQLite compares them, byte for byte: Email
// and email are two fields on both dialects (SQL Server's default collation
// is case-insensitive, and made them one key: the ack failed on every
// attempt). And text up to the stored limits comes back unchanged: a
// 1,500-character label, sheet name or reason was cut to the 1,000 the
// T-SQL declared, where SQLite kept it whole.
func TestResultsKeepCaseAndLongText(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		enqueue(t, s, "run-1", keyA, 3, 0)
		readyEnvs(t, s, 0)
		claimRun(t, s, time.Second, 60)
		long := strings.Repeat("Wörter, ", 187) + "Ende" // 1,500 characters, not all ASCII
		fields := []fieldRow{
			{Field: "email", Label: ptr("lower " + long), Detected: true},
			{Field: "Email", Label: ptr("Upper " + long), Detected: false},
		}
		cols := []columnRow{{WorkbookName: ptr(long), SheetName: ptr(long), ColumnIndex: 0, MappingStatus: "mapped", MappedField: ptr("Email")}}
		fj, _ := json.Marshal(fields)
		cj, _ := json.Marshal(cols)
		err := s.Write(ctx, func(q *db.Queries) error {
			if n, err := q.CompleteRun(ctx, db.CompleteRunParams{Now: at(2 * time.Second), ID: "run-1", WorkerID: ns(worker), AttemptCount: 1}); err != nil || n != 1 {
				return fmt.Errorf("complete: %d, %w", n, err)
			}
			if err := q.InsertRunMetrics(ctx, db.InsertRunMetricsParams{RunID: "run-1", EvaluationOutcome: ns(long), ValidationMaxSeverity: ns(long)}); err != nil {
				return err
			}
			if err := q.InsertRunFields(ctx, db.InsertRunFieldsParams{RunID: "run-1", Fields: string(fj)}); err != nil {
				return err
			}
			return q.InsertRunTableColumns(ctx, db.InsertRunTableColumnsParams{RunID: "run-1", Columns: string(cj)})
		})
		if err != nil {
			t.Fatalf("ack with Email and email and 1,500-character text: %v", err)
		}
		q := s.Queries()
		got, err := q.ListRunFields(ctx, "run-1")
		if err != nil || len(got) != 2 {
			t.Fatalf("fields = %d rows, %v; want Email and email", len(got), err)
		}
		// Byte order, as SQLite sorts: upper case first.
		if got[0].Field != "Email" || got[0].Label.String != "Upper "+long || got[1].Field != "email" || got[1].Label.String != "lower "+long {
			t.Fatalf("fields = %q (label %d chars), %q (label %d chars)", got[0].Field, len(got[0].Label.String), got[1].Field, len(got[1].Label.String))
		}
		gotCols, err := q.ListRunTableColumns(ctx, "run-1")
		if err != nil || len(gotCols) != 1 || gotCols[0].WorkbookName.String != long || gotCols[0].SheetName.String != long || gotCols[0].MappedField.String != "Email" {
			t.Fatalf("columns = %+v, %v", gotCols, err)
		}
		m, err := q.GetRunMetrics(ctx, "run-1")
		if err != nil || m.EvaluationOutcome.String != long || m.ValidationMaxSeverity.String != long {
			t.Fatalf("metrics text cut: outcome %d, severity %d characters; %v", len([]rune(m.EvaluationOutcome.String)), len([]rune(m.ValidationMaxSeverity.String)), err)
		}
	})
}
