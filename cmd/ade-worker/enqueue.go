package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/ade-dev/ade-worker/internal/enqueue"
	"github.com/ade-dev/ade-worker/internal/paths"
	"github.com/ade-dev/ade-worker/internal/runopts"
)

func cmdEnqueue(env *cliEnv, args []string) int {
	fs := env.flags("enqueue")
	ws := fs.String("workspace", "", "workspace id (required)")
	cfgDir := fs.String("config-dir", "", "configuration package folder to copy (required)")
	input := fs.String("input", "", "input document to upload (required)")
	opts := fs.String("options", "", "runs.run_options, a JSON object")
	sheets := fs.String("sheets", "", "comma-separated input sheet names")
	maxAttempts := fs.Int("max-attempts", 0, "runs.max_attempts (default ADE_WORKER_MAX_ATTEMPTS_DEFAULT)")
	cfgID := fs.String("configuration-id", "", "configuration id (default: derived from workspace and folder)")
	asJSON := fs.Bool("json", false, "print the ids of every row created as JSON instead of the run id alone")
	if code, ok := env.parseNoArgs(fs, args); !ok {
		return code
	}
	if *ws == "" || *cfgDir == "" || *input == "" {
		fmt.Fprintln(env.stderr, "ade-worker enqueue: --workspace, --config-dir and --input are required")
		return exitUsage
	}
	// Values that are wrong whatever the database holds are bad flags
	// (exit 2), found before any setting or database is touched.
	if err := paths.CheckSegment("workspace id", *ws); err != nil {
		fmt.Fprintf(env.stderr, "ade-worker enqueue: --workspace: %v\n", err)
		return exitUsage
	}
	if *opts != "" {
		if _, err := runopts.Parse(*opts, ""); err != nil {
			fmt.Fprintf(env.stderr, "ade-worker enqueue: --options: %v\n", err)
			return exitUsage
		}
	}
	if st, err := os.Stat(*cfgDir); err != nil || !st.IsDir() {
		fmt.Fprintf(env.stderr, "ade-worker enqueue: --config-dir: %s is not a folder\n", *cfgDir)
		return exitUsage
	}
	if st, err := os.Stat(*input); err != nil || !st.Mode().IsRegular() {
		fmt.Fprintf(env.stderr, "ade-worker enqueue: --input: %s is not a regular file\n", *input)
		return exitUsage
	}
	cfg, log, code := env.setup()
	if code != 0 {
		return code
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	st, code := env.open(ctx, cfg, false)
	if code != 0 {
		return code
	}
	defer st.Close()
	if err := ensureSchema(ctx, cfg, st, log); err != nil {
		fmt.Fprintf(env.stderr, "ade-worker: %v\n", err)
		return exitFailure
	}
	layout, err := paths.New(cfg.DataDir)
	if err != nil {
		fmt.Fprintf(env.stderr, "ade-worker: %v\n", err)
		return exitFailure
	}
	var sheetNames []string
	if *sheets != "" {
		sheetNames = strings.Split(*sheets, ",")
	}
	e, err := enqueue.Insert(ctx, st, layout, enqueue.Request{EngineSpec: cfg.EnginePackagePath, MaxAttempts: cfg.MaxAttemptsDefault},
		enqueue.Request{WorkspaceID: *ws, ConfigDir: *cfgDir, ConfigurationID: *cfgID, InputFile: *input, Options: *opts,
			InputSheetNames: sheetNames, MaxAttempts: *maxAttempts})
	if err != nil {
		fmt.Fprintf(env.stderr, "ade-worker enqueue: %v\n", err)
		return exitFailure
	}
	if *asJSON {
		return env.printJSON(e)
	}
	fmt.Fprintln(env.stdout, e.RunID)
	return exitOK
}
