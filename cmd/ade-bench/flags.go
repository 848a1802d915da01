package main

import (
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/ade-dev/ade-worker/internal/config"
)

const synopsis = "ade-bench [--noop] [--runs N] [--concurrency C] [--json] [--out PATH] [--worker PATH] [flags]"

const about = `Measures the throughput and latency of an ade-worker binary against the engine-bound
ideal (docs/performance.md). The worker under test is started as a child process
("ade-worker run") on a fresh SQLite database in a work folder of its own.

The worker is the binary named by --worker, else the ade-worker beside this
executable: build both into one folder, e.g. go build -o bin/ ./cmd/ade-worker ./cmd/ade-bench.`

// benchFlags are the command line of one bench.
type benchFlags struct {
	runs, concurrency, rounds, idleRuns int
	noop, asJSON, keep                  bool
	idleWindow                          time.Duration
	jsonPath, dir, examples, input      string
	worker                              string
}

func newFlagSet(f *benchFlags) *flag.FlagSet {
	fs := flag.NewFlagSet("ade-bench", flag.ContinueOnError)
	fs.IntVar(&f.runs, "runs", 200, "runs enqueued at once for the throughput phase")
	fs.IntVar(&f.concurrency, "concurrency", 2, "ADE_WORKER_CONCURRENCY of the worker, and the parallelism of the direct runs")
	fs.IntVar(&f.rounds, "rounds", 10, "rounds alternating a worker batch with as many direct engine runs, so other load weighs on both alike")
	fs.BoolVar(&f.noop, "noop", false, "use an engine that only prints a minimal engine.run.completed, instead of the reference engine")
	fs.IntVar(&f.idleRuns, "idle-runs", 20, "runs enqueued one at a time into an idle worker to measure idle pickup (0: none)")
	fs.DurationVar(&f.idleWindow, "idle-window", 10*time.Second, "how long an idle worker's statements are counted")
	fs.BoolVar(&f.asJSON, "json", false, "print the result as JSON instead of the table")
	fs.StringVar(&f.jsonPath, "out", "", "where the JSON result is also written (default bench-results/<engine>-c<C>-n<N>.json)")
	fs.StringVar(&f.dir, "dir", "", "where each bench makes its own work folder (default <ADE_WORKER_DATA_DIR>/bench)")
	fs.BoolVar(&f.keep, "keep", false, "keep the work folder (database, run folders, worker.log) after a successful bench")
	fs.StringVar(&f.examples, "examples", "examples", "folder with config-package/ and inputs/")
	fs.StringVar(&f.input, "input", "", "the document of every run (default <examples>/inputs/members.csv)")
	fs.StringVar(&f.worker, "worker", "", "the ade-worker binary to measure (default: the ade-worker beside this executable)")
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "Usage: %s\n\n%s\n\nFlags:\n", synopsis, about)
		fs.PrintDefaults()
		fmt.Fprintln(w, "\nADE_WORKER_DATA_DIR, ADE_WORKER_PYTHON and ADE_ENGINE_PACKAGE_PATH are read as ade-worker")
		fmt.Fprintln(w, "reads them (and ./.env); see README.md. The worker under test gets no other ADE_* setting.")
	}
	return fs
}

// parseFlags reads args; ok is false when the command should exit with
// code. --help prints the usage on stdout; a bad flag, a stray argument or
// a count out of range prints it on stderr.
func parseFlags(args []string, stdout, stderr io.Writer) (f *benchFlags, code int, ok bool) {
	f = &benchFlags{}
	fs := newFlagSet(f)
	for _, a := range args {
		if a == "--" {
			break
		}
		if a == "-h" || a == "--help" || a == "-help" {
			fs.SetOutput(stdout)
			fs.Usage()
			return nil, exitOK, false
		}
	}
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return nil, exitUsage, false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "ade-bench: unexpected argument %q\n\n", fs.Arg(0))
		fs.Usage()
		return nil, exitUsage, false
	}
	if f.runs < 1 || f.concurrency < 1 || f.rounds < 1 || f.idleRuns < 0 {
		fmt.Fprintln(stderr, "ade-bench: --runs, --concurrency and --rounds must be at least 1, --idle-runs at least 0")
		fs.Usage()
		return nil, exitUsage, false
	}
	return f, exitOK, true
}

// applyDefaults fills the flags whose defaults depend on the settings or on
// other flags.
func (f *benchFlags) applyDefaults(cfg config.Config) {
	if f.dir == "" {
		f.dir = filepath.Join(cfg.DataDir, "bench")
	}
	if f.input == "" {
		f.input = filepath.Join(f.examples, "inputs", "members.csv")
	}
	if f.jsonPath == "" {
		f.jsonPath = filepath.Join("bench-results", fmt.Sprintf("%s-c%d-n%d.json", f.engineName(), f.concurrency, f.runs))
	}
}

func (f *benchFlags) engineName() string {
	if f.noop {
		return "noop"
	}
	return "reference"
}

// idleRunsOption is --idle-runs as bench.Options takes it, where 0 is the
// default and a negative count is none.
func (f *benchFlags) idleRunsOption() int {
	if f.idleRuns == 0 {
		return -1
	}
	return f.idleRuns
}
