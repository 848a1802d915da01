package main

import (
	"fmt"
	"log/slog"
	"strings"

	"github.com/ade-dev/ade-worker/internal/app"
)

func cmdDemo(env *cliEnv, args []string) int {
	fs := env.flags("demo")
	examples := fs.String("examples", "examples", "folder with config-package/ and inputs/")
	if code, ok := env.parseNoArgs(fs, args); !ok {
		return code
	}
	cfg, _, code := env.setup()
	if code != 0 {
		return code
	}
	// The demo's own log goes to stderr at WARNING unless asked for more, so
	// its table stays readable.
	if !hasVar(env.environ, "ADE_WORKER_LOG_LEVEL") {
		cfg.LogLevel = slog.LevelWarn
	}
	log := newLogger(cfg, env.stderr)
	if env.process {
		slog.SetDefault(log)
	}
	ctx, stop := signals(func() {}, log)
	defer stop()
	if _, err := app.Demo(ctx, cfg, *examples, env.environ, env.stdout, log); err != nil {
		fmt.Fprintf(env.stderr, "ade-worker demo: %v\n", err)
		return exitFailure
	}
	return exitOK
}

func hasVar(environ []string, name string) bool {
	for _, kv := range environ {
		if strings.HasPrefix(kv, name+"=") {
			return true
		}
	}
	return false
}
