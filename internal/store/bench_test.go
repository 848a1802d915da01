package store_test

import (
	"context"
	"database/sql"
	_ "embed"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/ade-dev/ade-worker/gen/db"
	"github.com/ade-dev/ade-worker/internal/store"
	"github.com/ade-dev/ade-worker/internal/store/storetest"
)

// seedRunsSQL inserts ?1 queued runs of one environment key (ws, cfg,
// engine, sha256:x) in one statement.
//
//go:embed testdata/seed_runs.sql
var seedRunsSQL string

// benchDepths are the queue depths the claim benchmarks run at. The 1M case
// seeds for several seconds, so -short leaves it out.
var benchDepths = []struct {
	name  string
	depth int
	long  bool
}{
	{"depth=1k", 1_000, false},
	{"depth=100k", 100_000, false},
	{"depth=1M", 1_000_000, true},
}

const benchWorker = "bench-worker"

// seedQueue opens a fresh SQLite file holding depth queued runs, their
// ready environment and their document, as a loaded production queue would.
func seedQueue(b *testing.B, depth int) (*store.Store, time.Duration) {
	return seedRuns(b, seedRunsSQL, depth)
}

// seedRuns is seedQueue with the runs seedSQL inserts (given args, the
// first of them the number of runs).
func seedRuns(b *testing.B, seedSQL string, args ...any) (*store.Store, time.Duration) {
	b.Helper()
	ctx := context.Background()
	s := storetest.SQLite(b)
	start := time.Now()
	if _, err := s.DB().ExecContext(ctx, seedSQL, args...); err != nil {
		b.Fatalf("seed %v runs: %v", args[0], err)
	}
	err := s.Write(ctx, func(q *db.Queries) error {
		if err := q.UpsertConfiguration(ctx, db.UpsertConfigurationParams{ID: "cfg", WorkspaceID: "ws"}); err != nil {
			return err
		}
		if err := q.InsertDocument(ctx, db.InsertDocumentParams{ID: "doc", WorkspaceID: "ws", OriginalFilename: "in.csv", StoredUri: "file:doc/in.csv"}); err != nil {
			return err
		}
		if _, err := q.EnsureEnvironments(ctx, nil); err != nil {
			return err
		}
		env, err := q.ClaimEnvironment(ctx, db.ClaimEnvironmentParams{WorkerID: ns(benchWorker), LeaseSeconds: 900})
		if err != nil {
			return fmt.Errorf("claim environment: %w", err)
		}
		_, err = q.MarkEnvironmentReady(ctx, db.MarkEnvironmentReadyParams{
			PythonVersion: ns("3.11"), PythonInterpreter: ns("/venv/bin/python"), EngineVersion: ns("1.0"),
			ID: env.ID, WorkerID: ns(benchWorker), AttemptCount: env.AttemptCount,
		})
		return err
	})
	if err != nil {
		b.Fatalf("prepare the environment: %v", err)
	}
	return s, time.Since(start)
}

// claimOnce is the worker's claim transaction (internal/app claim): an
// environment build first, else the oldest due run with its environment and
// document, in one BEGIN IMMEDIATE.
func claimOnce(ctx context.Context, s *store.Store) (string, error) {
	var id string
	err := s.Write(ctx, func(q *db.Queries) error {
		_, err := q.ClaimEnvironment(ctx, db.ClaimEnvironmentParams{WorkerID: ns(benchWorker), LeaseSeconds: 900})
		if err == nil {
			return errors.New("an environment was claimable")
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		run, err := q.ClaimRun(ctx, db.ClaimRunParams{WorkerID: ns(benchWorker), LeaseSeconds: 900})
		if err != nil {
			return fmt.Errorf("claim run: %w", err)
		}
		if _, err := q.UseEnvironment(ctx, db.UseEnvironmentParams{WorkspaceID: run.WorkspaceID,
			ConfigurationID: run.ConfigurationID, EngineSpec: run.EngineSpec, DepsDigest: run.DepsDigest}); err != nil {
			return fmt.Errorf("use environment: %w", err)
		}
		if _, err := q.GetDocument(ctx, db.GetDocumentParams{ID: run.InputDocumentID, WorkspaceID: run.WorkspaceID}); err != nil {
			return fmt.Errorf("get document: %w", err)
		}
		id = run.ID
		return nil
	})
	return id, err
}

// BenchmarkClaim measures the worker's claim transaction at queue depths of
// 1k, 100k and 1M runs. Each claimed run is released (timer stopped), which
// puts it at the back of the queue, so the depth stays the same throughout.
// Besides ns/op it reports the p50 and p99 of the claim's own latency.
func BenchmarkClaim(b *testing.B) {
	for _, d := range benchDepths {
		b.Run(d.name, func(b *testing.B) {
			if d.long && testing.Short() {
				b.Skip("1M-row queue skipped with -short")
			}
			s, seeded := seedQueue(b, d.depth)
			ctx := context.Background()
			var lat []time.Duration
			for b.Loop() {
				start := time.Now()
				id, err := claimOnce(ctx, s)
				lat = append(lat, time.Since(start))
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if n, err := s.Queries().ReleaseRun(ctx, db.ReleaseRunParams{ID: id, WorkerID: ns(benchWorker), AttemptCount: 1}); err != nil || n != 1 {
					b.Fatalf("release %s: %d, %v", id, n, err)
				}
				b.StartTimer()
			}
			reportLatency(b, lat)
			b.ReportMetric(seeded.Seconds(), "seed-s")
		})
	}
}

// BenchmarkQueueUpkeep measures the worker's periodic statements at queue
// depths of 1k, 100k and 1M: ensuring environments and retrying failed ones
// (every 2 s), the sweep's statements (every ADE_WORKER_CLEANUP_INTERVAL),
// each in the write transaction the worker runs it in (while one runs,
// claims wait), the queue-depth sample (every 15 s, a read) and --drain's
// pending-work check (a read). history=1M/analyzed is a database of 1M runs
// of which 90% have finished, after ANALYZE: the planner then goes by
// statistics, which before migration 00004 made EnsureEnvironments read
// every run.
func BenchmarkQueueUpkeep(b *testing.B) {
	type upkeepCase struct {
		name string
		long bool
		seed func(b *testing.B) (*store.Store, time.Duration)
	}
	var cases []upkeepCase
	for _, d := range benchDepths {
		cases = append(cases, upkeepCase{d.name, d.long, func(b *testing.B) (*store.Store, time.Duration) { return seedQueue(b, d.depth) }})
	}
	cases = append(cases, upkeepCase{"history=1M/analyzed", true, func(b *testing.B) (*store.Store, time.Duration) {
		return seedRuns(b, seedRunMixSQL, 1_000_000, 90)
	}})
	for _, d := range cases {
		b.Run(d.name, func(b *testing.B) {
			if d.long && testing.Short() {
				b.Skip("1M-row database skipped with -short")
			}
			s, _ := d.seed(b)
			ctx := context.Background()
			steps := []struct {
				name string
				fn   func(q *db.Queries) error
			}{
				{"ensure", func(q *db.Queries) error { _, err := q.EnsureEnvironments(ctx, nil); return err }},
				{"retry-env", func(q *db.Queries) error { _, err := q.RetryFailedEnvironments(ctx, nil); return err }},
				{"expire", func(q *db.Queries) error {
					_, err := q.ExpireRunLeases(ctx, db.ExpireRunLeasesParams{BackoffMaxSeconds: 300, BackoffBaseSeconds: 5})
					return err
				}},
				{"exhausted", func(q *db.Queries) error { _, err := q.FailExhaustedRuns(ctx, nil); return err }},
				{"failed-env", func(q *db.Queries) error { _, err := q.FailRunsOfFailedEnvironments(ctx, nil); return err }},
			}
			lat := make([][]time.Duration, len(steps))
			var sample, pending []time.Duration
			for b.Loop() {
				for i, st := range steps {
					start := time.Now()
					if err := s.Write(ctx, st.fn); err != nil {
						b.Fatalf("%s: %v", st.name, err)
					}
					lat[i] = append(lat[i], time.Since(start))
				}
				start := time.Now()
				if _, err := s.Queries().CountRunsByStatus(ctx); err != nil {
					b.Fatalf("sample: %v", err)
				}
				sample = append(sample, time.Since(start))
				start = time.Now()
				if _, err := s.Queries().PendingWork(ctx); err != nil {
					b.Fatalf("pending work: %v", err)
				}
				pending = append(pending, time.Since(start))
			}
			for i, st := range steps {
				b.ReportMetric(float64(percentile(lat[i], 50).Microseconds()), st.name+"-p50-µs")
			}
			b.ReportMetric(float64(percentile(sample, 50).Microseconds()), "sample-p50-µs")
			b.ReportMetric(float64(percentile(pending, 50).Microseconds()), "pending-p50-µs")
		})
	}
}

func reportLatency(b *testing.B, lat []time.Duration) {
	b.ReportMetric(float64(percentile(lat, 50).Microseconds()), "p50-µs")
	b.ReportMetric(float64(percentile(lat, 99).Microseconds()), "p99-µs")
}

// percentile is the nearest-rank p-th percentile of lat (sorted in place).
func percentile(lat []time.Duration, p float64) time.Duration {
	if len(lat) == 0 {
		return 0
	}
	slices.Sort(lat)
	i := int(float64(len(lat))*p/100+0.5) - 1
	return lat[min(max(i, 0), len(lat)-1)]
}

// BenchmarkRunLifecycle measures one run's three write transactions on a
// queue of 1k runs: the API's insert, the worker's claim and its ack
// (CompleteRun). Every index on runs that a status change moves is written
// here, so it is the cost side of the indexes the queue upkeep reads.
func BenchmarkRunLifecycle(b *testing.B) {
	s, _ := seedQueue(b, 1_000)
	ctx := context.Background()
	i := 0
	for b.Loop() {
		i++
		err := s.Write(ctx, func(q *db.Queries) error {
			return q.InsertRun(ctx, db.InsertRunParams{ID: fmt.Sprintf("lifecycle-%09d", i), WorkspaceID: "ws",
				ConfigurationID: "cfg", InputDocumentID: "doc", EngineSpec: "engine", DepsDigest: "sha256:x", MaxAttempts: 3})
		})
		if err != nil {
			b.Fatalf("insert: %v", err)
		}
		id, err := claimOnce(ctx, s)
		if err != nil {
			b.Fatal(err)
		}
		var n int64
		err = s.Write(ctx, func(q *db.Queries) error {
			var err error
			n, err = q.CompleteRun(ctx, db.CompleteRunParams{ID: id, WorkerID: ns(benchWorker), AttemptCount: 1})
			return err
		})
		if err != nil || n != 1 {
			b.Fatalf("complete %s: %d, %v", id, n, err)
		}
	}
}
