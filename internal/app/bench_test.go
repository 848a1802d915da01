package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ade-dev/ade-worker/gen/db"
	"github.com/ade-dev/ade-worker/internal/config"
	"github.com/ade-dev/ade-worker/internal/enqueue"
	"github.com/ade-dev/ade-worker/internal/results"
	"github.com/ade-dev/ade-worker/internal/rusage"
	"github.com/ade-dev/ade-worker/internal/store"
	"github.com/ade-dev/ade-worker/internal/store/storetest"
)

// benchSummary is an engine.run.completed summary with metrics, nfields
// fields and ncolumns table columns spread over sheets of 20 columns.
func benchSummary(tb testing.TB, nfields, ncolumns int) *results.Summary {
	tb.Helper()
	var b strings.Builder
	b.WriteString(`{"execution":{"status":"succeeded"},"evaluation":{"outcome":"passed","findings":[]},`)
	b.WriteString(`"validation":{"issues_total":0,"issues_by_severity":{"info":0,"warning":0,"error":0},"max_severity":null},`)
	fmt.Fprintf(&b, `"counts":{"workbooks":1,"sheets":%d,"tables":%d,"rows":{"total":100,"empty":0},"columns":{"total":%d,"empty":0,"mapped":%d,"unmapped":0},"fields":{"expected":%d,"detected":%d,"not_detected":0},"cells":{"total":2000,"non_empty":1990}},`,
		(ncolumns+19)/20, (ncolumns+19)/20, ncolumns, ncolumns, nfields, nfields)
	b.WriteString(`"fields":[`)
	for i := range nfields {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"field":"field_%d","label":"Field %d","detected":true,"best_mapping_score":0.9,"occurrences":{"tables":1,"columns":1}}`, i, i)
	}
	b.WriteString(`],"workbooks":[{"locator":{"workbook":{"index":0,"name":"in.csv"}},"sheets":[`)
	for s := 0; s*20 < ncolumns; s++ {
		if s > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"locator":{"sheet":{"index":%d,"name":"Sheet %d"}},"tables":[{"locator":{"table":{"index":0}},"structure":{"columns":[`, s, s)
		for c := 0; c < 20 && s*20+c < ncolumns; c++ {
			if c > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"index":%d,"header":{"raw":"Column %d","normalized":"column_%d"},"non_empty_cells":99,"mapping":{"status":"mapped","field":"field_%d","score":0.95,"method":"header_match"}}`, c, c, c, c%max(nfields, 1))
		}
		b.WriteString(`]}}]}`)
	}
	b.WriteString(`]}]}`)
	s, err := results.Parse([]byte(b.String()))
	if err != nil {
		tb.Fatalf("parse the bench summary: %v", err)
	}
	if len(s.Columns) != ncolumns || len(s.Fields) != nfields {
		tb.Fatalf("bench summary has %d columns and %d fields, want %d and %d", len(s.Columns), len(s.Fields), ncolumns, nfields)
	}
	return &s
}

// benchWorker is a worker over a fresh SQLite file whose one environment
// is ready with interpreter, plus the configuration and document its runs
// use. Its log is discarded.
func benchWorker(tb testing.TB, interpreter string, settings ...string) (*Worker, *store.Store, enqueue.Queued) {
	tb.Helper()
	ctx := context.Background()
	dir := tb.TempDir()
	st := storetest.SQLiteAt(tb, filepath.Join(dir, "ade.sqlite"))
	cfg, err := config.Load(append([]string{
		"ADE_WORKER_DATA_DIR=" + filepath.Join(dir, "data"), "ADE_WORKER_ID=bench", "ADE_WORKER_CONCURRENCY=2",
		"ADE_WORKER_ENABLE_GC=0", "ADE_ENGINE_PACKAGE_PATH=bench-engine",
	}, settings...))
	if err != nil {
		tb.Fatal(err)
	}
	w, err := New(cfg, st, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Environ: os.Environ()})
	if err != nil {
		tb.Fatal(err)
	}
	cfgDir := filepath.Join(dir, "config-package")
	input := filepath.Join(dir, "in.csv")
	if err := os.MkdirAll(cfgDir, 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cfgDir, "pyproject.toml"), []byte("[project]\nname = \"bench\"\n"), 0o644); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(input, []byte("a,b\n1,2\n"), 0o644); err != nil {
		tb.Fatal(err)
	}
	e, err := enqueue.Insert(ctx, st, w.layout, enqueue.Request{EngineSpec: "bench-engine", MaxAttempts: 1},
		enqueue.Request{WorkspaceID: "bench", ConfigDir: cfgDir, InputFile: input, MaxAttempts: 1})
	if err != nil {
		tb.Fatal(err)
	}
	err = st.Write(ctx, func(q *db.Queries) error {
		if _, err := q.EnsureEnvironments(ctx, nil); err != nil {
			return err
		}
		env, err := q.ClaimEnvironment(ctx, db.ClaimEnvironmentParams{WorkerID: nsv("setup"), LeaseSeconds: 60})
		if err != nil {
			return err
		}
		_, err = q.MarkEnvironmentReady(ctx, db.MarkEnvironmentReadyParams{PythonVersion: nsv("3"),
			PythonInterpreter: nsv(interpreter), EngineVersion: nsv("bench"), ID: env.ID, WorkerID: nsv("setup"), AttemptCount: env.AttemptCount})
		return err
	})
	if err != nil {
		tb.Fatalf("ready the environment: %v", err)
	}
	return w, st, e
}

// benchEnqueue inserts n runs of e's configuration in one transaction. With
// newDocs each gets a document row of its own, as from the API (no file is
// stored: only runs that never start an engine may use them); else they
// all use e's document.
func benchEnqueue(ctx context.Context, st *store.Store, e enqueue.Queued, n int, newDocs bool) error {
	return st.Write(ctx, func(q *db.Queries) error {
		for range n {
			docID := e.DocumentID
			if newDocs {
				docID = uuid.NewString()
				if err := q.InsertDocument(ctx, db.InsertDocumentParams{ID: docID, WorkspaceID: "bench",
					OriginalFilename: "in.csv", StoredUri: "file:" + docID + "/in.csv"}); err != nil {
					return err
				}
			}
			if err := q.InsertRun(ctx, db.InsertRunParams{ID: uuid.NewString(), WorkspaceID: "bench",
				ConfigurationID: e.ConfigurationID, InputDocumentID: docID, EngineSpec: "bench-engine",
				DepsDigest: e.DepsDigest, MaxAttempts: 1}); err != nil {
				return err
			}
		}
		return nil
	})
}

// benchOutcome is a succeeded attempt whose summary is s.
func benchOutcome(s *results.Summary) runOutcome {
	zero := 0
	return runOutcome{kind: outcomeSucceeded, exitCode: &zero, summary: s, outputPath: "output/out.xlsx"}
}

// BenchmarkDatabasePath is the database's share of a run, with no
// subprocess and no files: the API's insert of a document and a run (one
// transaction per run), the worker's claim and its success ack with
// metrics, 10 fields and 20 table columns. Each op is one run; runs/s is the
// figure to read.
//
// serial is one goroutine doing enqueue, claim (one run) and ack (alone,
// not group-committed) in turn: the figure before group commit, and what a
// worker with one slot and an API inserting one run at a time between its
// claims would see.
//
// slots=N is the worker's real write path: one producer goroutine inserts
// the runs as the API would, while the worker's own loop (Run) claims them
// into N slots (one transaction claims a run for each free slot) and each
// slot's job is finishRun of a succeeded outcome, whose acks are
// group-committed. The loop's periodic work (ensure, sweep, queue samples)
// and its idle wakeups are included. acks/batch is the mean number of acks
// one commit wrote, runs/claim the mean runs one claim transaction took
// (empty claims included). cpu-us/run is this process's CPU per run, all
// goroutines: times runs/s, it says how much of a core the path used.
//
// prefilled/slots=N is the same worker on a queue the API filled before
// the timer started: the worker's share alone (claim and ack), without the
// enqueue transactions it otherwise shares the write lock with.
func BenchmarkDatabasePath(b *testing.B) {
	b.Run("serial", func(b *testing.B) {
		w, st, e := benchWorker(b, "/bin/true")
		out := benchOutcome(benchSummary(b, 10, 20))
		ctx := context.Background()
		before := st.Statements()
		cpu0 := rusage.CPU()
		for b.Loop() {
			if err := benchEnqueue(ctx, st, e, 1, true); err != nil {
				b.Fatalf("enqueue: %v", err)
			}
			c, err := w.claimOne(ctx)
			if err != nil || c.run == nil {
				b.Fatalf("claim: %v (found a run: %t)", err, c.run != nil)
			}
			if n, err := w.ackAlone(ctx, w.log, successAck(ctx, b, w, *c.run, out)); err != nil || n != 1 {
				b.Fatalf("ack: %d rows, %v", n, err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "runs/s")
		b.ReportMetric(float64(st.Statements()-before)/float64(b.N), "stmts/run")
		b.ReportMetric(float64((rusage.CPU()-cpu0).Microseconds())/float64(b.N), "cpu-us/run")
	})
	for _, c := range []struct {
		slots   int
		prefill bool
	}{{1, false}, {2, false}, {8, false}, {16, false}, {16, true}} {
		name := "slots=" + strconv.Itoa(c.slots)
		if c.prefill {
			name = "prefilled/" + name
		}
		b.Run(name, func(b *testing.B) {
			slots := c.slots
			w, st, e := benchWorker(b, "/bin/true", "ADE_WORKER_CONCURRENCY="+strconv.Itoa(slots))
			w.log = slog.New(slog.DiscardHandler)
			out := benchOutcome(benchSummary(b, 10, 20))
			ctx, stop := context.WithCancel(context.Background())
			defer stop()
			var acked, envJobs atomic.Int64
			w.runJob = func(jctx context.Context, run claimedRun, freeSlot func()) {
				freeSlot()
				w.finishRun(jctx, run, out, nil, w.log, time.Millisecond)
				if acked.Add(1) >= int64(b.N) {
					stop()
				}
			}
			w.envJob = func(context.Context, db.ClaimEnvironmentRow) { envJobs.Add(1) }
			before := st.Statements()
			_, claims0 := histogramSum(w, "ade_worker_claim_duration_seconds")
			b.ResetTimer()
			cpu0 := rusage.CPU()
			errs := make(chan error, 1)
			if c.prefill {
				b.StopTimer()
				for range b.N - 1 {
					if err := benchEnqueue(ctx, st, e, 1, true); err != nil {
						b.Fatal(err)
					}
				}
				before = st.Statements()
				cpu0 = rusage.CPU()
				b.StartTimer()
			}
			go func() {
				if c.prefill {
					return
				}
				// The setup left one queued run: b.N-1 more make b.N.
				for range b.N - 1 {
					if err := benchEnqueue(ctx, st, e, 1, true); err != nil {
						errs <- fmt.Errorf("enqueue: %w", err)
						stop()
						return
					}
				}
			}()
			if err := w.Run(ctx, RunOptions{}); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			cpu := rusage.CPU() - cpu0
			select {
			case err := <-errs:
				b.Fatal(err)
			default:
			}
			done := counter(w.metrics.RunsFinished.WithLabelValues("succeeded"))
			if done != float64(b.N) || envJobs.Load() > 0 {
				b.Fatalf("%v of %d runs succeeded; %d environment jobs", done, b.N, envJobs.Load())
			}
			b.ReportMetric(done/b.Elapsed().Seconds(), "runs/s")
			b.ReportMetric(float64(st.Statements()-before)/done, "stmts/run")
			sum, count := histogramSum(w, "ade_worker_ack_batch_size")
			b.ReportMetric(sum/count, "acks/batch")
			_, claims := histogramSum(w, "ade_worker_claim_duration_seconds")
			b.ReportMetric(done/(claims-claims0), "runs/claim")
			b.ReportMetric(float64(cpu.Microseconds())/done, "cpu-us/run")
			// The WAL file's size is the longest the log grew: SQLite's
			// automatic checkpoint starts it over after 1,000 pages (4 MB)
			// when no reader holds an older snapshot.
			if fi, err := os.Stat(st.Target().SQLitePath + "-wal"); err == nil {
				b.ReportMetric(float64(fi.Size())/(1<<20), "wal-MiB")
			}
		})
	}
}

// histogramSum is the sum and count of the observations of the histogram
// name (without labels) in the worker's registry.
func histogramSum(w *Worker, name string) (sum, count float64) {
	mfs, err := w.metrics.Registry.Gather()
	if err != nil {
		return 0, 0
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			h := mf.GetMetric()[0].GetHistogram()
			return h.GetSampleSum(), float64(h.GetSampleCount())
		}
	}
	return 0, 0
}

// BenchmarkAck measures the success ack of a run whose summary lists 20
// or 10k table columns (and 200 fields): CompleteRun and the results
// replace, in one write transaction (a lone ack through the group
// committer). The claim before each ack is not timed. Fields and columns
// go as JSON arrays of columnChunk rows, unpacked by SQLite's jsonb_each.
func BenchmarkAck(b *testing.B) {
	for _, n := range []int{20, 10_000} {
		b.Run("json/columns="+strconv.Itoa(n), func(b *testing.B) {
			w, st, e := benchWorker(b, "/bin/true")
			out := benchOutcome(benchSummary(b, 200, n))
			ctx := context.Background()
			for b.Loop() {
				b.StopTimer()
				if err := benchEnqueue(ctx, st, e, 1, true); err != nil {
					b.Fatal(err)
				}
				c, err := w.claimOne(ctx)
				if err != nil || c.run == nil {
					b.Fatalf("claim: %v", err)
				}
				b.StartTimer()
				if n, err := w.ackRun(ctx, w.log, resultRows(out.summary), successAck(ctx, b, w, *c.run, out)); err != nil || n != 1 {
					b.Fatalf("ack: %d rows, %v", n, err)
				}
			}
			b.ReportMetric(float64(n), "columns/op")
		})
	}
}

// BenchmarkWorkerNoop runs the whole worker in this process, concurrency
// 2, on b.N queued runs of an engine that only prints a minimal
// engine.run.completed: the figure the bench command reports, in a form a
// CPU profile can be taken of (go test -bench WorkerNoop -cpuprofile).
// worker-cpu-ms/run is this process's own CPU per run (the engines are
// children and not counted); enqueuing is not timed.
func BenchmarkWorkerNoop(b *testing.B) {
	python, err := exec.LookPath("python3")
	if err != nil {
		b.Skip("python3 is not available")
	}
	if out, err := exec.Command(python, "-c", "import sys; print(sys.executable)").Output(); err == nil {
		python = strings.TrimSpace(string(out))
	}
	noop := filepath.Join(b.TempDir(), "noop-engine")
	script := "#!" + python + " -S\nimport sys\nsys.stdout.write('{\"event\":\"engine.run.completed\",\"data\":{\"execution\":{\"status\":\"succeeded\"}}}\\n')\n"
	if err := os.WriteFile(noop, []byte(script), 0o755); err != nil {
		b.Fatal(err)
	}
	w, st, e := benchWorker(b, noop)
	ctx := context.Background()
	// Enqueue already queued one run with its document; b.N-1 more share it.
	if err := benchEnqueue(ctx, st, e, b.N-1, false); err != nil {
		b.Fatal(err)
	}
	u0 := rusage.Self()
	b.ResetTimer()
	if err := w.Run(ctx, RunOptions{Drain: true}); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	u := rusage.Self()
	cpu, sw := u.CPU-u0.CPU, u.Switches-u0.Switches
	var failed int64
	if rows, err := st.Queries().CountRunsByStatus(ctx); err == nil {
		for _, r := range rows {
			if r.Status != "succeeded" {
				failed += r.Count
			}
		}
	}
	if failed > 0 {
		b.Fatalf("%d runs did not succeed", failed)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "runs/s")
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "worker-cpu-ms/run")
	b.ReportMetric(float64(sw)/float64(b.N), "ctx-switches/run")
}

// resultRows is the number of result rows an ack of s writes.
func resultRows(s *results.Summary) int {
	res, _ := store.EncodeRunResults("", s)
	return res.Rows()
}

// successAck is the ack of a succeeded attempt, its results encoded as the
// worker encodes them.
func successAck(ctx context.Context, tb testing.TB, w *Worker, run claimedRun, out runOutcome) func(q *db.Queries) (int64, error) {
	tb.Helper()
	res, err := store.EncodeRunResults(run.ID, out.summary)
	if err != nil {
		tb.Fatal(err)
	}
	return w.succeededAck(ctx, run, out, res)
}

// claimOne claims at most one run (or an environment), as the loop's
// fallback claim does.
func (w *Worker) claimOne(ctx context.Context) (claimed, error) {
	c, err := w.claimWork(ctx, store.ClaimRequest{Runs: 1, ReleaseUnready: true})
	if cs := claimedOf(c); err == nil && len(cs) == 1 {
		return cs[0], nil
	}
	return claimed{}, err
}
