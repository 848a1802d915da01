package main

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/ade-dev/ade-worker/internal/operator"
)

func cmdDemo(env *cliEnv, args []string) int {
	fs := env.flags("demo")
	examples := fs.String("examples", "examples", "folder with config-package/ and inputs/")
	if code, ok := env.parseNoArgs(fs, args); !ok {
		return code
	}
	cfg, log, code := env.setup()
	if code != 0 {
		return code
	}
	// The worker's own log goes to <data dir>/demo/worker.log unless a
	// level is asked for, so the demo's table, or the one line that says
	// why there is none, is all the terminal shows.
	if !hasVar(env.environ, "ADE_WORKER_LOG_LEVEL") {
		path := filepath.Join(cfg.DataDir, "demo", "worker.log")
		f, err := createLog(path)
		if err != nil {
			fmt.Fprintf(env.stderr, "ade-worker demo: %v\n", err)
			return exitFailure
		}
		defer f.Close()
		log = newLogger(cfg, f)
		if env.process {
			slog.SetDefault(log)
		}
	}
	adoptOrphans(env, log)
	ctx, stop := signals(func() {}, log)
	defer stop()
	if _, err := operator.Demo(ctx, cfg, *examples, env.environ, env.stdout, log); err != nil {
		fmt.Fprintf(env.stderr, "ade-worker demo: %v\n", err)
		return exitFailure
	}
	return exitOK
}

// createLog creates (or empties) the file at path, and its folder.
func createLog(path string) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("create the demo folder: %w", err)
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("create the worker log: %w", err)
	}
	return f, nil
}

func hasVar(environ []string, name string) bool {
	for _, kv := range environ {
		if strings.HasPrefix(kv, name+"=") {
			return true
		}
	}
	return false
}
