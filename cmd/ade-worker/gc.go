package main

import (
	"fmt"

	"github.com/ade-dev/ade-worker/internal/app"
)

func cmdGC(env *cliEnv, args []string) int {
	fs := env.flags("gc")
	dry := fs.Bool("dry-run", false, "list what would be deleted, delete nothing")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if code, ok := env.parseNoArgs(fs, args); !ok {
		return code
	}
	cfg, log, code := env.setup()
	if code != 0 {
		return code
	}
	ctx, stop := signals(func() {}, log)
	defer stop()
	st, code := env.open(ctx, cfg, false)
	if code != 0 {
		return code
	}
	defer st.Close()
	if err := st.CheckSchema(ctx); err != nil {
		fmt.Fprintf(env.stderr, "ade-worker: %v\n", err)
		return exitFailure
	}
	w, err := app.New(cfg, st, app.Options{Logger: log, Environ: env.environ})
	if err != nil {
		fmt.Fprintf(env.stderr, "ade-worker: %v\n", err)
		return exitFailure
	}
	rep, err := w.GC(ctx, *dry)
	if err != nil {
		fmt.Fprintf(env.stderr, "ade-worker: gc: %v\n", err)
		return exitFailure
	}
	if *asJSON {
		return env.printJSON(rep)
	}
	verb := "deleted"
	if *dry {
		verb = "would delete"
	}
	fmt.Fprintf(env.stdout, "environments %s: %d %v\nrun folders %s: %d\n", verb, len(rep.EnvironmentsDeleted), rep.EnvironmentsDeleted, verb, len(rep.RunFoldersDeleted))
	for _, e := range rep.Errors {
		fmt.Fprintf(env.stderr, "error: %s\n", e)
	}
	if len(rep.Errors) > 0 {
		return exitFailure
	}
	return exitOK
}
