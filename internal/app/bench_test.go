package app

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ade-dev/ade-worker/gen/db"
	"github.com/ade-dev/ade-worker/internal/config"
	"github.com/ade-dev/ade-worker/internal/results"
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
func benchWorker(tb testing.TB, interpreter string, settings ...string) (*Worker, *store.Store, Enqueued) {
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
	e, err := Enqueue(ctx, st, w.layout, EnqueueRequest{EngineSpec: "bench-engine", MaxAttempts: 1},
		EnqueueRequest{WorkspaceID: "bench", ConfigDir: cfgDir, InputFile: input, MaxAttempts: 1})
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
			PythonInterpreter: nsv(interpreter), EngineVersion: nsv("bench"), ID: env.ID, WorkerID: nsv("setup")})
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
func benchEnqueue(ctx context.Context, st *store.Store, e Enqueued, n int, newDocs bool) error {
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

// ackSucceeded is the success ack of finishRun: the fenced CompleteRun and
// the results replace in one write transaction.
func (w *Worker) ackSucceeded(ctx context.Context, run claimedRun, s *results.Summary) error {
	return w.st.Write(ctx, func(q *db.Queries) error {
		n, err := q.CompleteRun(ctx, db.CompleteRunParams{ExitCode: sql.NullInt64{Valid: true}, OutputPath: nullStr("output/out.xlsx"),
			ID: run.ID, WorkerID: nsv(w.cfg.WorkerID)})
		if err != nil {
			return err
		}
		if n == 0 {
			return errFenced
		}
		return writeResults(ctx, q, run.ID, s)
	})
}

// BenchmarkDatabasePath is the database's share of a run, with no
// subprocess and no files: the API's insert of a document and a run, the
// worker's claim transaction, and its success ack with metrics, 10 fields
// and 20 table columns. Each op is one run; runs/s is the figure to read.
// goroutines=G runs G of these loops at once on one store, as G slots of
// one worker would: SQLite has one writer, so they queue on its lock.
func BenchmarkDatabasePath(b *testing.B) {
	for _, g := range []int{1, 2, 4} {
		b.Run("goroutines="+strconv.Itoa(g), func(b *testing.B) {
			w, st, e := benchWorker(b, "/bin/true")
			s := benchSummary(b, 10, 20)
			ctx := context.Background()
			before := st.Statements()
			var runs atomic.Int64
			b.ResetTimer()
			var wg sync.WaitGroup
			errs := make(chan error, g)
			per := b.N / g
			for i := range g {
				n := per
				if i == 0 {
					n += b.N % g
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range n {
						if err := benchEnqueue(ctx, st, e, 1, true); err != nil {
							errs <- fmt.Errorf("enqueue: %w", err)
							return
						}
						c, err := w.claim(ctx)
						if err != nil {
							errs <- fmt.Errorf("claim: %w", err)
							return
						}
						if c.run == nil {
							errs <- errors.New("claim found no run")
							return
						}
						if err := w.ackSucceeded(ctx, *c.run, s); err != nil {
							errs <- fmt.Errorf("ack: %w", err)
							return
						}
						runs.Add(1)
					}
				}()
			}
			wg.Wait()
			b.StopTimer()
			close(errs)
			if err := <-errs; err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(runs.Load())/b.Elapsed().Seconds(), "runs/s")
			b.ReportMetric(float64(st.Statements()-before)/float64(b.N), "stmts/run")
		})
	}
}

// BenchmarkAck measures the success ack of a run whose summary lists 10k
// table columns (and 200 fields): CompleteRun and the results replace,
// column rows sent as JSON arrays of columnChunk rows each, in one write
// transaction. The claim before each ack is not timed.
func BenchmarkAck(b *testing.B) {
	for _, n := range []int{20, 10_000} {
		b.Run("columns="+strconv.Itoa(n), func(b *testing.B) {
			w, st, e := benchWorker(b, "/bin/true")
			s := benchSummary(b, 200, n)
			ctx := context.Background()
			for b.Loop() {
				b.StopTimer()
				if err := benchEnqueue(ctx, st, e, 1, true); err != nil {
					b.Fatal(err)
				}
				c, err := w.claim(ctx)
				if err != nil || c.run == nil {
					b.Fatalf("claim: %v", err)
				}
				b.StartTimer()
				if err := w.ackSucceeded(ctx, *c.run, s); err != nil {
					b.Fatal(err)
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
	cpu0 := selfCPU()
	b.ResetTimer()
	if err := w.Run(ctx, RunOptions{Drain: true}); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	cpu := selfCPU() - cpu0
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
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
