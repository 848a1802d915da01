package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"

	"github.com/ade-dev/ade-worker/internal/config"
	"github.com/ade-dev/ade-worker/internal/engine"
	"github.com/ade-dev/ade-worker/internal/store"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2 // bad flags or an invalid setting
)

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
			detail: "Claims environment builds and runs from ADE_DATABASE_URL until SIGTERM or SIGINT (Ctrl-C; on\n" +
				"Windows also Ctrl-Break or a closing console); a first signal lets in-flight jobs finish within\n" +
				"ADE_WORKER_SHUTDOWN_GRACE_SECONDS, a second stops them and exits.\n" +
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
		{name: "enqueue", usage: "enqueue --workspace ID --config-dir DIR --input FILE [--options JSON] [--max-attempts N]\n" +
			"                          [--sheets A,B] [--configuration-id ID] [--json]", summary: "queue a run as the ADE API would", run: cmdEnqueue,
			detail: "Copies the configuration package and the document under ADE_WORKER_DATA_DIR where the API stores\n" +
				"them, inserts the configuration, document and run rows, and prints the new run's id."},
		{name: "status", usage: "status [--json]", summary: "runs and environments by status, oldest queued run, running leases", run: cmdStatus},
		{name: "demo", usage: "demo [--examples DIR]", summary: "process the bundled examples on a fresh SQLite database and print a table", run: cmdDemo},
		{name: "version", usage: "version", summary: "print the version, commit and Go version of this build (also --version)", run: cmdVersion,
			detail: "The commit and its time are those `go build` records in a git checkout; `go run`, `go test`\n" +
				"and -buildvcs=false record none (revision unknown)."},
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
	case name == "--version" || name == "-version":
		return cmdVersion(env, args[1:])
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

// open connects to the database once; a database that cannot be reached is
// a clear error and exit 1, never a retry loop. Only create (the commands
// that create the schema) makes a SQLite file that does not exist.
func (env *cliEnv) open(ctx context.Context, cfg config.Config, create bool) (*store.Store, int) {
	// A URL that cannot be parsed is a bad setting (exit 2), not a
	// database that is down; the error never holds the password.
	if _, err := store.ParseURL(cfg.DatabaseURL, cfg.DataDir); err != nil {
		fmt.Fprintf(env.stderr, "ade-worker: invalid setting: ADE_DATABASE_URL: %v\n", err)
		return nil, exitUsage
	}
	o := cfg.StoreOptions()
	o.Create = create
	st, err := store.Open(ctx, cfg.DatabaseURL, o)
	if err != nil {
		// Said once, as every error that ends a command is: the log and
		// this line both go to stderr.
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

// stopSignals ask the worker to stop. os.Interrupt is Ctrl-C (and, on
// Windows, Ctrl-Break); SIGTERM is what service managers and container
// runtimes send on Unix, and what Go reports on Windows when the console
// closes or the user logs off or the machine shuts down (Windows has no
// SIGTERM one process can send another).
var stopSignals = []os.Signal{os.Interrupt, syscall.SIGTERM}

// signals returns a context cancelled by the first stop signal; a second
// one calls hard.
func signals(hard func(), log *slog.Logger) (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, stopSignals...)
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

// adoptOrphans makes the worker process the subreaper of its engines'
// descendants (Linux; nothing elsewhere), so that one which left its
// engine's process group is still ended with its run. Only the process
// itself does it, not a test calling a command.
func adoptOrphans(env *cliEnv, log *slog.Logger) {
	if !env.process {
		return
	}
	if err := engine.BecomeSubreaper(); err != nil {
		log.Warn("processes that leave an engine's process group will outlive their run", slog.Any("error", err))
	}
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
