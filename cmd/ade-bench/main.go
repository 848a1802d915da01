// Command ade-bench measures an ade-worker binary against the engine-bound
// ideal (docs/performance.md). It is a tool for working on the worker, not
// for running it, so it is a command of its own rather than one of
// ade-worker's.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/ade-dev/ade-worker/internal/bench"
	"github.com/ade-dev/ade-worker/internal/config"
)

// Exit codes, as ade-worker's.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2 // bad flags or an invalid setting
)

func main() {
	os.Exit(run(os.Args[1:], os.Environ(), os.Stdout, os.Stderr, true))
}

// run is one invocation. process is set when it runs as the process (not in
// a test): then the logger of the settings also becomes slog's default, for
// the few lines the database layer logs.
func run(args, environ []string, stdout, stderr io.Writer, process bool) int {
	f, code, ok := parseFlags(args, stdout, stderr)
	if !ok {
		return code
	}
	cfg, err := config.Load(environ)
	if err != nil {
		fmt.Fprintf(stderr, "ade-bench: invalid setting: %v\n", err)
		return exitUsage
	}
	if process {
		slog.SetDefault(newLogger(cfg, stderr))
	}
	self, err := os.Executable()
	if err != nil && f.worker == "" {
		fmt.Fprintf(stderr, "ade-bench: find this binary: %v\n", err)
		return exitFailure
	}
	worker, err := workerPath(f.worker, self)
	if err != nil {
		fmt.Fprintf(stderr, "ade-bench: %v\n", err)
		return exitFailure
	}
	f.applyDefaults(cfg)

	// Stop on Ctrl-C or SIGTERM: the harness then stops its worker and
	// reports the work folder it keeps.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fmt.Fprintf(stderr, "bench: worker under test %s\n", worker)
	res, err := bench.Run(ctx, bench.Options{
		WorkerPath: worker, Dir: f.dir, Runs: f.runs, Concurrency: f.concurrency, Rounds: f.rounds, Noop: f.noop,
		IdleRuns: f.idleRunsOption(), IdleWindow: f.idleWindow, Python: cfg.Python, EnginePackage: cfg.EnginePackagePath,
		ConfigDir: filepath.Join(f.examples, "config-package"), Input: f.input, Environ: environ, Progress: stderr,
	})
	if err != nil {
		fmt.Fprintf(stderr, "ade-bench: %v\n", err)
		if res != nil && res.WorkDir != "" {
			fmt.Fprintf(stderr, "(work folder kept: %s)\n", res.WorkDir)
		}
		return exitFailure
	}
	return report(res, f, stdout, stderr)
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
