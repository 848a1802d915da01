// Package bench measures the worker as it runs in production and compares
// it with what the engine alone could do.
//
// The worker under test is an ade-worker binary (Options.WorkerPath),
// started as a child process ("ade-worker run") on a fresh SQLite file,
// running real engine subprocesses. The harness enqueues runs into the same
// database as the ADE API would, reads the outcome back from the rows
// (created_at, started_at, completed_at) and from each run's events.ndjson
// (the engine's own wall time), reads the worker's statement counter and CPU
// time from its /metrics, and its memory from /proc. Then, in the same
// invocation, it executes the same engine command directly, with the same
// parallelism: the engine-bound ideal the worker's throughput is a fraction
// of.
//
// Run strings the phases together. setup.go makes the work folder, its
// database and the engine under test, and warms the worker up; idle.go
// measures the idle worker, throughput.go the interleaved rounds, ideal.go
// the direct engine runs; child.go and procfs.go watch the worker process.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/ade-dev/ade-worker/internal/enqueue"
	"github.com/ade-dev/ade-worker/internal/paths"
	"github.com/ade-dev/ade-worker/internal/store"
)

// Options shape one bench invocation. Zero values take the defaults noted.
type Options struct {
	// WorkerPath is the ade-worker binary measured (started as
	// "WorkerPath run"). Required.
	WorkerPath string
	// Dir holds the work folders: each bench makes a fresh one in it
	// (database, data folder, worker log, the direct runs), named in
	// Result.WorkDir. Nothing is deleted before measuring: removing
	// thousands of run folders just before would charge the file system's
	// clean-up to the runs measured. Required.
	Dir string
	// Runs is how many runs the throughput phase enqueues at once (200).
	Runs int
	// Concurrency is ADE_WORKER_CONCURRENCY and the parallelism of the ideal (2).
	Concurrency int
	// Rounds splits the runs into rounds, each a batch for the worker then
	// as many direct engine runs, so that other load on the machine weighs
	// on both sides alike (10, at most Runs).
	Rounds int
	// Noop replaces the reference engine with an ade_engine that only prints a
	// minimal engine.run.completed: what is left is the worker's own cost
	// and the interpreter's start-up.
	Noop bool
	// IdleRuns is how many runs are enqueued one at a time into an idle
	// worker to measure idle pickup (20).
	IdleRuns int
	// IdleWindow is how long an idle worker's statements are counted (10s).
	IdleWindow time.Duration
	// IdleSettle is how long the worker is left alone before that, so its
	// poll backoff reaches its idle steady state (5s).
	IdleSettle time.Duration
	// Python is the interpreter the reference engine's environment is built
	// from and the noop engine runs on (python3).
	Python string
	// EnginePackage is ADE_ENGINE_PACKAGE_PATH for the reference engine.
	EnginePackage string
	// ConfigDir and Input are the configuration package and the document of
	// every run.
	ConfigDir, Input string
	// Environ is the environment the worker starts from; its ADE_* variables
	// are dropped and the bench's own set.
	Environ []string
	// Progress receives a line per phase; nil discards.
	Progress io.Writer
}

func (o Options) withDefaults() Options {
	if o.Runs <= 0 {
		o.Runs = 200
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 2
	}
	if o.Rounds <= 0 {
		o.Rounds = 10
	}
	o.Rounds = min(o.Rounds, o.Runs)
	if o.IdleRuns < 0 {
		o.IdleRuns = 0
	} else if o.IdleRuns == 0 {
		o.IdleRuns = 20
	}
	if o.IdleWindow <= 0 {
		o.IdleWindow = 10 * time.Second
	}
	if o.IdleSettle <= 0 {
		o.IdleSettle = 5 * time.Second
	}
	if o.Python == "" {
		o.Python = "python3"
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	return o
}

// workspace is the workspace every bench run belongs to.
const workspace = "bench"

// setupWorker claims the noop engine's environment; it never runs a job.
const setupWorker = "bench-setup"

// bench is one invocation under way: what its phases share.
type bench struct {
	o   Options
	res *Result
	// dir is the work folder, dataDir the worker's data folder in it.
	dir, dataDir, dbURL string
	st                  *store.Store
	layout              paths.Layout
	// python is the real interpreter behind Options.Python; engineSpec is
	// ADE_ENGINE_PACKAGE_PATH of the worker ("noop" for the noop engine,
	// whose environment noopPython runs).
	python, engineSpec, noopPython string
	// environ is the worker's environment, logPath its log.
	environ []string
	logPath string
	w       *workerProc
	stopped bool // the worker was stopped and waited for
	// warm is the warm-up run; every later run reuses its configuration
	// and document. interp is its environment's interpreter.
	warm   enqueue.Queued
	interp string
}

// Run performs one bench invocation. On an error after the work folder
// was made, the partial result names it (Result.WorkDir).
func Run(ctx context.Context, o Options) (*Result, error) {
	o = o.withDefaults()
	if o.WorkerPath == "" || o.Dir == "" {
		return nil, errors.New("bench: WorkerPath and Dir are required")
	}
	res := newResult(o)
	dir, err := makeWorkFolder(o.Dir, res)
	if err != nil {
		return nil, err
	}
	res.WorkDir = dir
	b := &bench{o: o, res: res, dir: dir, dataDir: filepath.Join(dir, "data")}
	return res, b.run(ctx)
}

func newResult(o Options) *Result {
	res := &Result{
		Engine: "reference", Database: "sqlite", Runs: o.Runs, Concurrency: o.Concurrency,
		CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), StartedAt: time.Now().UTC(),
		LoadAverage: loadAverage(),
	}
	if o.Noop {
		res.Engine = "noop"
	}
	return res
}

// makeWorkFolder makes a fresh folder under parent, named for the engine
// and the start time.
func makeWorkFolder(parent string, res *Result) (string, error) {
	parent, err := filepath.Abs(parent)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return "", fmt.Errorf("create work folder: %w", err)
	}
	dir, err := os.MkdirTemp(parent, res.Engine+"-"+res.StartedAt.Format("20060102-150405")+"-")
	if err != nil {
		return "", fmt.Errorf("create work folder: %w", err)
	}
	return dir, nil
}

// run takes the bench through its phases, in order: a database and an
// engine, the worker, the warm-up, the idle worker, the rounds against the
// ideal, and the figures.
func (b *bench) run(ctx context.Context) error {
	if err := os.MkdirAll(b.dataDir, 0o755); err != nil {
		return err
	}
	b.dbURL = "sqlite:///" + filepath.ToSlash(filepath.Join(b.dataDir, "db", "ade.sqlite"))
	st, err := store.Open(ctx, b.dbURL, store.Options{DataDir: b.dataDir, Create: true})
	if err != nil {
		return err
	}
	defer st.Close()
	b.st = st
	if err := b.prepare(ctx); err != nil {
		return err
	}
	if err := b.launch(ctx); err != nil {
		return err
	}
	defer func() {
		if !b.stopped {
			b.w.kill()
			b.w.logFile.Close()
		}
	}()
	if err := b.warmUp(ctx); err != nil {
		return err
	}
	if err := b.measureIdle(ctx); err != nil {
		return err
	}
	return b.measureThroughput(ctx)
}
