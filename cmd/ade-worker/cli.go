package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"sort"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/ade-dev/ade-worker/internal/app"
	"github.com/ade-dev/ade-worker/internal/config"
	"github.com/ade-dev/ade-worker/internal/paths"
	"github.com/ade-dev/ade-worker/internal/store"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2 // bad flags or an invalid setting
)

// version is set at build time with -ldflags "-X main.version=...".
var version = ""

type command struct {
	name    string
	usage   string // the synopsis after "ade-worker "
	summary string // one line for the command list
	detail  string // more for the command's own --help, optional
	run     func(env *cliEnv, args []string) int
}

// cliEnv is what every subcommand gets.
type cliEnv struct {
	environ        []string
	stdout, stderr io.Writer
	// process is set when Main runs as the process (not in a test): then
	// the worker's logger also becomes slog's default, so the few lines
	// logged by packages without a logger of their own share its format.
	process bool
}

var commands []command

func init() {
	commands = []command{
		{name: "run", usage: "run [--drain]", summary: "process the queue (the default command)", run: cmdRun,
			detail: "Claims environment builds and runs from ADE_DATABASE_URL until SIGTERM or SIGINT; a first signal\n" +
				"lets in-flight jobs finish within ADE_WORKER_SHUTDOWN_GRACE_SECONDS, a second stops them now.\n" +
				"With ADE_WORKER_HTTP_ADDR set it serves /metrics, /healthz and /readyz.\n" +
				"It refuses a database whose schema is not current: run 'ade-worker migrate up' first,\n" +
				"or set ADE_WORKER_AUTO_CREATE_SCHEMA=1."},
		{name: "migrate", usage: "migrate up|down|status", summary: "apply, roll back or show the schema migrations", run: cmdMigrate,
			detail: "  up      apply every pending migration (a no-op when the schema is current;\n" +
				"          refused when the database is ahead of this binary)\n" +
				"  down    roll back the newest applied migration\n" +
				"  status  print the applied and the latest version and what is pending"},
		{name: "gc", usage: "gc [--dry-run] [--json]", summary: "one garbage collection pass", run: cmdGC,
			detail: "Deletes cold environments of inactive configurations and the folders of runs finished longer\n" +
				"ago than ADE_WORKER_RUN_ARTIFACT_TTL_DAYS, by the same rules as the worker's own passes."},
		{name: "enqueue", usage: "enqueue --workspace ID --config-dir DIR --input FILE [--options JSON] [--max-attempts N]", summary: "queue a run as the ADE API would", run: cmdEnqueue,
			detail: "Copies the configuration package and the document under ADE_WORKER_DATA_DIR where the API stores\n" +
				"them, inserts the configuration, document and run rows, and prints the new run's id."},
		{name: "status", usage: "status [--json]", summary: "runs and environments by status, oldest queued run, running leases", run: cmdStatus},
		{name: "demo", usage: "demo [--examples DIR]", summary: "process the bundled examples on a fresh SQLite database and print a table", run: cmdDemo},
		{name: "bench", usage: "bench [--runs N] [--concurrency C] [--noop]", summary: "measure throughput and latency against the engine-bound ideal", run: cmdBench},
		{name: "version", usage: "version", summary: "print the version", run: cmdVersion},
	}
}

// Main runs one invocation and returns its exit code. With no command it
// runs the worker; flags before any command are run's.
func Main(args []string, environ []string, stdout, stderr io.Writer) int {
	return dispatch(&cliEnv{environ: environ, stdout: stdout, stderr: stderr}, args)
}

func dispatch(env *cliEnv, args []string) int {
	if len(args) == 0 {
		return cmdRun(env, nil)
	}
	name := args[0]
	switch {
	case isHelp(name):
		usage(env.stdout)
		return exitOK
	case name == "help":
		// "help <command>" is "<command> --help".
		if len(args) > 1 {
			if c := lookup(args[1]); c != nil {
				return c.run(env, []string{"--help"})
			}
			return unknown(env, args[1])
		}
		usage(env.stdout)
		return exitOK
	case strings.HasPrefix(name, "-"):
		return cmdRun(env, args)
	}
	if c := lookup(name); c != nil {
		return c.run(env, args[1:])
	}
	return unknown(env, name)
}

func lookup(name string) *command {
	for i := range commands {
		if commands[i].name == name {
			return &commands[i]
		}
	}
	return nil
}

func unknown(env *cliEnv, name string) int {
	fmt.Fprintf(env.stderr, "ade-worker: unknown command %q\n\n", name)
	usage(env.stderr)
	return exitUsage
}

func isHelp(arg string) bool { return arg == "-h" || arg == "--help" || arg == "-help" }

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: ade-worker <command> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, c := range commands {
		fmt.Fprintf(tw, "  %s\t%s\n", c.name, c.summary)
	}
	tw.Flush()
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Settings come from ADE_* environment variables (and ./.env); see README.md.")
	fmt.Fprintln(w, "Run 'ade-worker <command> --help' for a command's flags.")
}

// flags makes a subcommand's flag set with a --help that prints its usage.
func (env *cliEnv) flags(c string) *flag.FlagSet {
	fs := flag.NewFlagSet(c, flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	if cmd := lookup(c); cmd != nil {
		fs.Usage = func() {
			w := fs.Output()
			fmt.Fprintf(w, "Usage: ade-worker %s\n\n%s.\n", cmd.usage, strings.ToUpper(cmd.summary[:1])+cmd.summary[1:])
			if cmd.detail != "" {
				fmt.Fprintf(w, "\n%s\n", cmd.detail)
			}
			var hasFlags bool
			fs.VisitAll(func(*flag.Flag) { hasFlags = true })
			if hasFlags {
				fmt.Fprintln(w, "\nFlags:")
				fs.PrintDefaults()
			}
			fmt.Fprintln(w, "\nSettings come from ADE_* environment variables (and ./.env); see README.md.")
		}
	}
	return fs
}

// parse parses flags; ok is false when the command should exit with code.
func (env *cliEnv) parse(fs *flag.FlagSet, args []string) (code int, ok bool) {
	fs.SetOutput(env.stdout)
	for _, a := range args {
		if a == "--" {
			break
		}
		if isHelp(a) {
			fs.Usage()
			return exitOK, false
		}
	}
	fs.SetOutput(env.stderr)
	if err := fs.Parse(args); err != nil {
		return exitUsage, false
	}
	return 0, true
}

// parseNoArgs is parse for a command that takes flags only: a stray word
// (a typo of a flag, a second command) is a usage error, not ignored.
func (env *cliEnv) parseNoArgs(fs *flag.FlagSet, args []string) (code int, ok bool) {
	if code, ok := env.parse(fs, args); !ok {
		return code, false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(env.stderr, "ade-worker %s: unexpected argument %q\n\n", fs.Name(), fs.Arg(0))
		fs.Usage()
		return exitUsage, false
	}
	return 0, true
}

// setup loads the settings and makes the logger. A bad setting exits 2 with
// a message naming the variable.
func (env *cliEnv) setup() (config.Config, *slog.Logger, int) {
	cfg, err := config.Load(env.environ)
	if err != nil {
		fmt.Fprintf(env.stderr, "ade-worker: invalid setting: %v\n", err)
		return cfg, nil, exitUsage
	}
	log := newLogger(cfg, env.stderr)
	if env.process {
		slog.SetDefault(log)
	}
	return cfg, log, 0
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func storeOptions(cfg config.Config) store.Options {
	return store.Options{
		DataDir: cfg.DataDir, SQLiteJournalMode: cfg.SQLiteJournalMode, SQLiteSynchronous: cfg.SQLiteSynchronous,
		SQLiteBusyTimeout: cfg.SQLiteBusyTimeout(), AuthMode: cfg.DatabaseAuthMode, MIClientID: cfg.DatabaseMIClientID,
		PoolSize: cfg.DatabasePoolSize, MaxOverflow: cfg.DatabaseMaxOverflow, PoolTimeout: cfg.DatabasePoolTimeout,
		PoolRecycle: cfg.DatabasePoolRecycle,
	}
}

// open connects to the database once; a database that cannot be reached is
// a clear error and exit 1, never a retry loop. Only create (the commands
// that create the schema) makes a SQLite file that does not exist.
func (env *cliEnv) open(ctx context.Context, cfg config.Config, log *slog.Logger, create bool) (*store.Store, int) {
	// A URL that cannot be parsed is a bad setting (exit 2), not a
	// database that is down; the error never holds the password.
	if _, err := store.ParseURL(cfg.DatabaseURL, cfg.DataDir); err != nil {
		fmt.Fprintf(env.stderr, "ade-worker: invalid setting: ADE_DATABASE_URL: %v\n", err)
		return nil, exitUsage
	}
	o := storeOptions(cfg)
	o.Create = create
	st, err := store.Open(ctx, cfg.DatabaseURL, o)
	if err != nil {
		log.Error("cannot open the database", slog.String("error", err.Error()))
		fmt.Fprintf(env.stderr, "ade-worker: %v\n", err)
		return nil, exitFailure
	}
	return st, 0
}

// ensureSchema migrates when ADE_WORKER_AUTO_CREATE_SCHEMA=1, else refuses
// a database whose schema is missing, behind or ahead.
func ensureSchema(ctx context.Context, cfg config.Config, st *store.Store, log *slog.Logger) error {
	if cfg.AutoCreateSchema {
		applied, err := st.MigrateUp(ctx)
		if err != nil {
			return err
		}
		if len(applied) > 0 {
			log.Info("schema migrated", slog.Any("versions", applied))
		}
		return nil
	}
	return st.CheckSchema(ctx)
}

// signals returns a context cancelled by the first SIGTERM/SIGINT; a second
// one calls hard.
func signals(hard func(), log *slog.Logger) (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		n := 0
		for sig := range ch {
			n++
			if n == 1 {
				log.Info("signal received: no new work; in-flight jobs finish within the grace period (signal again to stop now)", slog.String("signal", sig.String()))
				cancel()
				continue
			}
			log.Warn("second signal: stopping in-flight jobs now", slog.String("signal", sig.String()))
			hard()
		}
	}()
	return ctx, func() { signal.Stop(ch); cancel() }
}

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
	log.Info("effective settings", slog.Any("settings", slog.GroupValue(cfg.Redacted()...)))
	boot, cancelBoot := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancelBoot()
	st, code := env.open(boot, cfg, log, cfg.AutoCreateSchema)
	if code != 0 {
		return code
	}
	defer st.Close()
	if err := ensureSchema(boot, cfg, st, log); err != nil {
		fmt.Fprintf(env.stderr, "ade-worker: %v\n", err)
		return exitFailure
	}
	w, err := app.New(cfg, st, app.Options{Logger: log, Environ: env.environ})
	if err != nil {
		fmt.Fprintf(env.stderr, "ade-worker: %v\n", err)
		return exitFailure
	}
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
	cfg, log, code := env.setup()
	if code != 0 {
		return code
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	st, code := env.open(ctx, cfg, log, fs.Arg(0) == "up")
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
	st, code := env.open(ctx, cfg, log, false)
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
	cfg, log, code := env.setup()
	if code != 0 {
		return code
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	st, code := env.open(ctx, cfg, log, false)
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
	e, err := app.Enqueue(ctx, st, layout, app.EnqueueRequest{EngineSpec: cfg.EnginePackagePath, MaxAttempts: cfg.MaxAttemptsDefault},
		app.EnqueueRequest{WorkspaceID: *ws, ConfigDir: *cfgDir, ConfigurationID: *cfgID, InputFile: *input, Options: *opts,
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

func cmdStatus(env *cliEnv, args []string) int {
	fs := env.flags("status")
	asJSON := fs.Bool("json", false, "print JSON")
	if code, ok := env.parseNoArgs(fs, args); !ok {
		return code
	}
	cfg, log, code := env.setup()
	if code != 0 {
		return code
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, code := env.open(ctx, cfg, log, false)
	if code != 0 {
		return code
	}
	defer st.Close()
	// A database never migrated has no tables to count: say what to do
	// instead of "no such table". One ahead of this binary is still read.
	if err := st.CheckSchema(ctx); errors.Is(err, store.ErrSchemaBehind) {
		fmt.Fprintf(env.stderr, "ade-worker status: %v\n", err)
		return exitFailure
	}
	s, err := app.ReadStatus(ctx, st, time.Now())
	if err != nil {
		fmt.Fprintf(env.stderr, "ade-worker status: %v\n", err)
		return exitFailure
	}
	if *asJSON {
		return env.printJSON(s)
	}
	out := env.stdout
	fmt.Fprintf(out, "database: %s (schema %d of %d)\n", s.Database, s.SchemaVersion, s.SchemaLatest)
	fmt.Fprintf(out, "runs:         %s\n", counts(s.Runs, "queued", "running", "succeeded", "failed"))
	fmt.Fprintf(out, "environments: %s\n", counts(s.Environments, "queued", "building", "ready", "failed"))
	if s.OldestQueuedRunID != "" {
		fmt.Fprintf(out, "oldest queued run: %s, queued %s ago\n", s.OldestQueuedRunID, (time.Duration(s.OldestQueuedAge) * time.Second).Round(time.Second))
	}
	if len(s.Leases) > 0 {
		fmt.Fprintln(out, "\nrunning:")
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "RUN\tWORKER\tATTEMPT\tSTARTED\tLEASE EXPIRES")
		for _, l := range s.Leases {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s (in %s)\n", l.RunID, l.ClaimedBy, l.Attempt, l.StartedAt.Format(time.RFC3339),
				l.ExpiresAt.Format(time.RFC3339), (time.Duration(l.ExpiresIn) * time.Second).Round(time.Second))
		}
		tw.Flush()
	}
	return exitOK
}

func counts(m map[string]int64, order ...string) string {
	parts := make([]string, 0, len(m))
	seen := map[string]bool{}
	for _, k := range order {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
		seen[k] = true
	}
	var rest []string
	for k := range m {
		if !seen[k] {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	for _, k := range rest {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

func (env *cliEnv) printJSON(v any) int {
	enc := json.NewEncoder(env.stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		fmt.Fprintf(env.stderr, "ade-worker: %v\n", err)
		return exitFailure
	}
	return exitOK
}

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

func cmdVersion(env *cliEnv, args []string) int {
	fs := env.flags("version")
	if code, ok := env.parseNoArgs(fs, args); !ok {
		return code
	}
	v := version
	if v == "" {
		v = "(devel)"
		if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
			v = bi.Main.Version
		}
	}
	fmt.Fprintf(env.stdout, "ade-worker %s\n", v)
	return exitOK
}
