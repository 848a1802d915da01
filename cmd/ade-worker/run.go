package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ade-dev/ade-worker/internal/app"
	"github.com/ade-dev/ade-worker/internal/version"
)

func cmdRun(env *cliEnv, args []string) int {
	fs := env.flags("run")
	drain := fs.Bool("drain", false, "exit 0 once nothing is in flight and nothing queued can still be processed")
	if code, ok := env.parseNoArgs(fs, args); !ok {
		return code
	}
	cfg, log, code := env.setup()
	if code != 0 {
		return code
	}
	v := version.Get()
	log.Info("effective settings", slog.String("version", v.Version), slog.String("revision", v.RevisionLabel()),
		slog.String("go_version", v.GoVersion), slog.Any("settings", slog.GroupValue(cfg.Redacted()...)))
	boot, cancelBoot := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancelBoot()
	st, code := env.open(boot, cfg, cfg.AutoCreateSchema)
	if code != 0 {
		return code
	}
	// A stop that left jobs waiting on the database must not wait again to
	// close it.
	closeWait := time.Duration(-1)
	defer func() { closeStore(st, closeWait) }()
	if err := ensureSchema(boot, cfg, st, log); err != nil {
		fmt.Fprintf(env.stderr, "ade-worker: %v\n", err)
		return exitFailure
	}
	w, err := app.New(cfg, st, app.Options{Logger: log, Environ: env.environ})
	if err != nil {
		fmt.Fprintf(env.stderr, "ade-worker: %v\n", err)
		return exitFailure
	}
	adoptOrphans(env, log)
	ctx, stop := signals(w.StopNow, log)
	defer stop()
	if cfg.HTTPAddr != "" {
		if _, err := w.Serve(ctx, cfg.HTTPAddr); err != nil {
			fmt.Fprintf(env.stderr, "ade-worker: ADE_WORKER_HTTP_ADDR: %v\n", err)
			return exitFailure
		}
	}
	if err := w.Run(ctx, app.RunOptions{Drain: *drain}); err != nil {
		fmt.Fprintf(env.stderr, "ade-worker: %v\n", err)
		if _, ok := errors.AsType[*app.UnfinishedError](err); ok {
			closeWait = time.Second
		}
		return exitFailure
	}
	return exitOK
}

func cmdMigrate(env *cliEnv, args []string) int {
	fs := env.flags("migrate")
	if code, ok := env.parse(fs, args); !ok {
		return code
	}
	if fs.NArg() != 1 || (fs.Arg(0) != "up" && fs.Arg(0) != "down" && fs.Arg(0) != "status") {
		fs.SetOutput(env.stderr)
		fs.Usage()
		return exitUsage
	}
	cfg, _, code := env.setup()
	if code != 0 {
		return code
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	st, code := env.open(ctx, cfg, fs.Arg(0) == "up")
	if code != 0 {
		return code
	}
	defer st.Close()
	switch fs.Arg(0) {
	case "up":
		applied, err := st.MigrateUp(ctx)
		if err != nil {
			fmt.Fprintf(env.stderr, "ade-worker: %v\n", err)
			return exitFailure
		}
		if len(applied) == 0 {
			fmt.Fprintf(env.stdout, "schema is current (%s)\n", st.Redacted())
		} else {
			fmt.Fprintf(env.stdout, "applied migrations %v to %s\n", applied, st.Redacted())
		}
	case "down":
		v, err := st.MigrateDown(ctx)
		if err != nil {
			fmt.Fprintf(env.stderr, "ade-worker: %v\n", err)
			return exitFailure
		}
		fmt.Fprintf(env.stdout, "rolled back migration %d on %s\n", v, st.Redacted())
	case "status":
		s, err := st.SchemaStatus(ctx)
		if err != nil {
			fmt.Fprintf(env.stderr, "ade-worker: %v\n", err)
			return exitFailure
		}
		fmt.Fprintf(env.stdout, "database: %s\ncurrent version: %d\nlatest version: %d\npending: %v\n", st.Redacted(), s.Current, s.Latest, s.Pending)
		if err := st.CheckSchema(ctx); err != nil {
			fmt.Fprintf(env.stdout, "state: %v\n", err)
		} else {
			fmt.Fprintln(env.stdout, "state: current")
		}
	}
	return exitOK
}
