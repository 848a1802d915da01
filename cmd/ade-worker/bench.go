package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/ade-dev/ade-worker/internal/bench"
)

// cmdBench measures this binary as a worker (started again as a child
// process, "ade-worker run") against the engine-bound ideal; see
// docs/performance.md.
func cmdBench(env *cliEnv, args []string) int {
	fs := env.flags("bench")
	runs := fs.Int("runs", 200, "runs enqueued at once for the throughput phase")
	concurrency := fs.Int("concurrency", 2, "ADE_WORKER_CONCURRENCY of the worker, and the parallelism of the direct runs")
	rounds := fs.Int("rounds", 10, "rounds alternating a worker batch with as many direct engine runs, so other load weighs on both alike")
	noop := fs.Bool("noop", false, "use an engine that only prints a minimal engine.run.completed, instead of the reference engine")
	idleRuns := fs.Int("idle-runs", 20, "runs enqueued one at a time into an idle worker to measure idle pickup (0: none)")
	idleWindow := fs.Duration("idle-window", 10*time.Second, "how long an idle worker's statements are counted")
	asJSON := fs.Bool("json", false, "print the result as JSON instead of the table")
	jsonPath := fs.String("out", "", "where the JSON result is also written (default bench-results/<engine>-c<C>-n<N>.json)")
	dir := fs.String("dir", "", "where each bench makes its own work folder (default <ADE_WORKER_DATA_DIR>/bench)")
	keep := fs.Bool("keep", false, "keep the work folder (database, run folders, worker.log) after a successful bench")
	examples := fs.String("examples", "examples", "folder with config-package/ and inputs/")
	input := fs.String("input", "", "the document of every run (default <examples>/inputs/members.csv)")
	if code, ok := env.parseNoArgs(fs, args); !ok {
		return code
	}
	if *runs < 1 || *concurrency < 1 || *rounds < 1 || *idleRuns < 0 {
		fmt.Fprintln(env.stderr, "ade-worker bench: --runs, --concurrency and --rounds must be at least 1, --idle-runs at least 0")
		fs.SetOutput(env.stderr)
		fs.Usage()
		return exitUsage
	}
	cfg, log, code := env.setup()
	if code != 0 {
		return code
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintf(env.stderr, "ade-worker bench: find this binary: %v\n", err)
		return exitFailure
	}
	if *dir == "" {
		*dir = filepath.Join(cfg.DataDir, "bench")
	}
	if *input == "" {
		*input = filepath.Join(*examples, "inputs", "members.csv")
	}
	engineName := "reference"
	if *noop {
		engineName = "noop"
	}
	if *jsonPath == "" {
		*jsonPath = filepath.Join("bench-results", fmt.Sprintf("%s-c%d-n%d.json", engineName, *concurrency, *runs))
	}
	idle := *idleRuns
	if idle == 0 {
		idle = -1 // none
	}

	ctx, stop := signals(func() {}, log)
	defer stop()
	res, err := bench.Run(ctx, bench.Options{
		WorkerPath: self, Dir: *dir, Runs: *runs, Concurrency: *concurrency, Rounds: *rounds, Noop: *noop,
		IdleRuns: idle, IdleWindow: *idleWindow, Python: cfg.Python, EnginePackage: cfg.EnginePackagePath,
		ConfigDir: filepath.Join(*examples, "config-package"), Input: *input, Environ: env.environ, Progress: env.stderr,
	})
	if err != nil {
		fmt.Fprintf(env.stderr, "ade-worker bench: %v\n", err)
		if res != nil && res.WorkDir != "" {
			fmt.Fprintf(env.stderr, "(work folder kept: %s)\n", res.WorkDir)
		}
		return exitFailure
	}
	return env.reportBench(res, *jsonPath, *asJSON, *keep)
}

// reportBench writes the result to jsonPath and prints it: the table, or
// with asJSON the JSON alone on stdout and where things went on stderr.
func (env *cliEnv) reportBench(res *bench.Result, jsonPath string, asJSON, keep bool) int {
	if err := res.WriteJSON(jsonPath); err != nil {
		fmt.Fprintf(env.stderr, "ade-worker bench: write %s: %v\n", jsonPath, err)
		return exitFailure
	}
	notes := env.stderr
	if asJSON {
		if code := env.printJSON(res); code != exitOK {
			return code
		}
	} else {
		res.WriteTable(env.stdout)
		notes = env.stdout
		fmt.Fprintln(notes)
	}
	fmt.Fprintf(notes, "JSON: %s\n", jsonPath)
	if !keep {
		if err := os.RemoveAll(res.WorkDir); err != nil {
			fmt.Fprintf(env.stderr, "ade-worker bench: remove the work folder: %v\n", err)
		}
	} else {
		fmt.Fprintf(notes, "work folder: %s (worker.log, data/db/ade.sqlite, run folders)\n", res.WorkDir)
	}
	return exitOK
}
