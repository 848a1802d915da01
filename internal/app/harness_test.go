package app_test

// The harness of the worker's end-to-end tests: a real database (SQLite
// here; any *store.Store, so SQL Server too once ADE_TEST_MSSQL_URL is set),
// a data folder per test, real subprocesses, and one virtual environment of
// the reference engine built by a real worker and shared by the package,
// since a build costs tens of seconds.
//
// Tests that need an engine which misbehaves do not build a venv: they mark
// their environment ready themselves, through the store's own queries, with
// python_interpreter pointing at a small shell script, so the worker runs
// `<script> -m ade_engine process file ...` and the script does what the
// test needs.

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ade-dev/ade-worker/gen/db"
	"github.com/ade-dev/ade-worker/internal/app"
	"github.com/ade-dev/ade-worker/internal/apptest"
	"github.com/ade-dev/ade-worker/internal/config"
	"github.com/ade-dev/ade-worker/internal/enqueue"
	"github.com/ade-dev/ade-worker/internal/paths"
	"github.com/ade-dev/ade-worker/internal/store"
)

// testSQL holds the statements only tests run (pinning times, stealing a
// claim), one file per dialect under testdata/<dialect>/.
//
//go:embed testdata
var testSQL embed.FS

const (
	// workspaceID is the workspace of every test's runs.
	workspaceID = "5d1f0f5c-7a0e-4d59-9a54-0d6c2b1e7a01"
	// waitLimit bounds every wait of a test: far above what any step takes
	// on a loaded machine, so only a hang reaches it.
	waitLimit = 2 * time.Minute
)

var (
	// repoRoot is the repository, for examples/.
	repoRoot string
	// pkgRoot is a folder that lives as long as the test binary: the shared
	// reference environment is built under it.
	pkgRoot string
	// engineSpec is a private copy of apps/ade-engine: an editable install
	// writes into the project folder, and several test packages may build
	// at once.
	engineSpec string
)

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	repoRoot = apptest.RepoRoot()
	var err error
	pkgRoot, err = os.MkdirTemp("", "ade-app-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "create package folder:", err)
		return 2
	}
	defer os.RemoveAll(pkgRoot)
	engineSpec = filepath.Join(pkgRoot, "ade-engine")
	if err := apptest.CopyEngine(engineSpec); err != nil {
		fmt.Fprintln(os.Stderr, "copy the reference engine:", err)
		return 2
	}
	code := m.Run()
	ref.close()
	return code
}

// baseSettings are the worker settings of every test: quick polling and
// sweeps, short backoffs, no GC loop (GC is called directly), and a data
// folder of the test's own.
func baseSettings(dataDir string) []string {
	return []string{
		"ADE_WORKER_DATA_DIR=" + dataDir,
		"ADE_ENGINE_PACKAGE_PATH=" + engineSpec,
		"ADE_WORKER_ID=worker-a",
		"ADE_WORKER_CONCURRENCY=2",
		"ADE_WORKER_POLL_INTERVAL=0.05",
		"ADE_WORKER_POLL_INTERVAL_MAX=0.2",
		"ADE_WORKER_CLEANUP_INTERVAL=0.5",
		"ADE_WORKER_BACKOFF_BASE_SECONDS=0.2",
		"ADE_WORKER_BACKOFF_MAX_SECONDS=2",
		"ADE_WORKER_LEASE_SECONDS=60",
		"ADE_WORKER_ENABLE_GC=0",
		"ADE_WORKER_SHUTDOWN_GRACE_SECONDS=5",
		"ADE_WORKER_ENV_BUILD_TIMEOUT_SECONDS=300",
		"ADE_WORKER_LOG_LEVEL=DEBUG",
	}
}

// loadConfig loads settings as the binary would, later entries winning.
func loadConfig(settings []string) (config.Config, error) {
	return config.Load(settings)
}

// logBuffer collects a worker's log; a failed test prints it.
type logBuffer struct{ apptest.LogBuffer }

func (b *logBuffer) logger() *slog.Logger { return b.Logger() }

// harness is one test's database, data folder and workers.
type harness struct {
	t        testing.TB
	st       *store.Store
	dir      string // the test's own folder: fake engines, markers
	dataDir  string
	layout   paths.Layout
	settings []string
	logs     *logBuffer
}

// newHarness makes a data folder for st; settings override baseSettings.
func newHarness(t testing.TB, st *store.Store, settings ...string) *harness {
	t.Helper()
	dir := t.TempDir()
	dataDir := filepath.Join(dir, "data")
	layout, err := paths.New(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, st: st, dir: dir, dataDir: dataDir, layout: layout,
		settings: append(baseSettings(dataDir), settings...), logs: &logBuffer{}}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("worker log:\n%s", h.logs.String())
		}
	})
	return h
}

// config is the harness's settings plus overrides.
func (h *harness) config(overrides ...string) config.Config {
	h.t.Helper()
	cfg, err := loadConfig(append(append([]string{}, h.settings...), overrides...))
	if err != nil {
		h.t.Fatalf("load settings: %v", err)
	}
	return cfg
}

// worker makes a worker over the harness's store.
func (h *harness) worker(overrides ...string) *app.Worker {
	h.t.Helper()
	return h.workerAt(nil, overrides...)
}

// workerAt is worker with clock as its "now" (nil: the database's clock).
func (h *harness) workerAt(clock func() time.Time, overrides ...string) *app.Worker {
	h.t.Helper()
	w, err := app.New(h.config(overrides...), h.st, app.Options{Logger: h.logs.logger(), Environ: apptest.SubprocessEnviron(), Clock: clock})
	if err != nil {
		h.t.Fatalf("new worker: %v", err)
	}
	return w
}

// drain runs w with --drain and fails the test unless it returns cleanly.
func (h *harness) drain(w *app.Worker) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if err := w.Run(ctx, app.RunOptions{Drain: true}); err != nil {
		h.t.Fatalf("run --drain: %v", err)
	}
	if ctx.Err() != nil {
		h.t.Fatalf("run --drain did not return within %s", waitLimit)
	}
}

// running is a worker started in the background.
type running struct {
	cancel context.CancelFunc
	done   chan error
	w      *app.Worker
}

// start runs w until stop (or the end of the test).
func (h *harness) start(w *app.Worker) *running {
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{cancel: cancel, done: make(chan error, 1), w: w}
	go func() { r.done <- w.Run(ctx, app.RunOptions{}) }()
	h.t.Cleanup(func() { r.stop(h.t) })
	return r
}

// stop cancels the worker's Run and waits for it to return.
func (r *running) stop(t testing.TB) error {
	t.Helper()
	r.cancel()
	select {
	case err, ok := <-r.done:
		if ok {
			close(r.done)
		}
		return err
	case <-time.After(waitLimit):
		t.Fatalf("worker did not stop within %s", waitLimit)
		return nil
	}
}

// enqueue queues a run of examples/config-package on one of
// examples/inputs, as the API would.
func (h *harness) enqueue(input string, mod func(*enqueue.Request)) enqueue.Queued {
	h.t.Helper()
	req := enqueue.Request{
		WorkspaceID: workspaceID,
		ConfigDir:   filepath.Join(repoRoot, "examples", "config-package"),
		InputFile:   filepath.Join(repoRoot, "examples", "inputs", input),
	}
	if mod != nil {
		mod(&req)
	}
	e, err := enqueue.Insert(context.Background(), h.st, h.layout, enqueue.Request{EngineSpec: engineSpec, MaxAttempts: 3}, req)
	if err != nil {
		h.t.Fatalf("enqueue %s: %v", input, err)
	}
	return e
}

// readyEnvironment does what a worker does for the one key the queued runs
// need, through the store's queries: ensure the row, claim it, and mark it
// ready with interpreter as its python.
func (h *harness) readyEnvironment(interpreter string) db.Environment {
	h.t.Helper()
	envs := h.readyEnvironments(interpreter)
	if len(envs) != 1 {
		h.t.Fatalf("%d environments made ready, want 1", len(envs))
	}
	return envs[0]
}

// readyEnvironments makes ready, with interpreter as their python, the
// environments of every key the queued runs need.
func (h *harness) readyEnvironments(interpreter string) []db.Environment {
	h.t.Helper()
	ctx := context.Background()
	var ids []string
	err := h.st.Write(ctx, func(q *db.Queries) error {
		if _, err := q.EnsureEnvironments(ctx, nil); err != nil {
			return fmt.Errorf("ensure: %w", err)
		}
		for {
			env, err := q.ClaimEnvironment(ctx, db.ClaimEnvironmentParams{WorkerID: nsv("harness"), LeaseSeconds: 60})
			if errors.Is(err, sql.ErrNoRows) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("claim: %w", err)
			}
			ids = append(ids, env.ID)
			n, err := q.MarkEnvironmentReady(ctx, db.MarkEnvironmentReadyParams{
				PythonVersion: nsv("3"), PythonInterpreter: nsv(interpreter), EngineVersion: nsv("test"),
				ID: env.ID, WorkerID: nsv("harness"), AttemptCount: env.AttemptCount,
			})
			if err == nil && n != 1 {
				err = fmt.Errorf("mark ready changed %d rows", n)
			}
			if err != nil {
				return err
			}
		}
	})
	if err != nil {
		h.t.Fatalf("ready environments: %v", err)
	}
	envs := make([]db.Environment, len(ids))
	for i, id := range ids {
		envs[i] = h.environment(id)
	}
	return envs
}

func nsv(s string) sql.NullString { return sql.NullString{String: s, Valid: true} }

// run reads a run row.
func (h *harness) run(id string) db.Run {
	h.t.Helper()
	r, err := h.st.Queries().GetRun(context.Background(), id)
	if err != nil {
		h.t.Fatalf("get run %s: %v", id, err)
	}
	return r
}

// environment reads an environment row.
func (h *harness) environment(id string) db.Environment {
	h.t.Helper()
	e, err := h.st.Queries().GetEnvironment(context.Background(), id)
	if err != nil {
		h.t.Fatalf("get environment %s: %v", id, err)
	}
	return e
}

// waitRun polls a run until ok holds, and returns it.
func (h *harness) waitRun(id, what string, ok func(db.Run) bool) db.Run {
	h.t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		r := h.run(id)
		if ok(r) {
			return r
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("run %s: waited %s for %s; row is %+v", id, waitLimit, what, r)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitFor polls cond until it holds.
func (h *harness) waitFor(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			h.t.Fatalf("waited %s for %s", waitLimit, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// exec runs one test-only statement of testdata/<dialect>/<name>.sql with
// named arguments, and returns the rows it changed.
func (h *harness) exec(name string, args ...any) int64 {
	h.t.Helper()
	text, err := testSQL.ReadFile("testdata/" + string(h.st.Dialect()) + "/" + name + ".sql")
	if err != nil {
		h.t.Fatalf("test SQL %s: %v", name, err)
	}
	for i, a := range args {
		// A typed NULL: Babelfish refuses the untyped one go-mssqldb sends for nil.
		if na, ok := a.(sql.NamedArg); ok && na.Value == nil {
			args[i] = sql.Named(na.Name, sql.NullString{})
		}
	}
	res, err := h.st.DB().ExecContext(context.Background(), string(text), args...)
	if err != nil {
		h.t.Fatalf("test SQL %s: %v", name, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		h.t.Fatalf("test SQL %s: rows affected: %v", name, err)
	}
	return n
}

// exists is a condition for waitFor: the file name exists in the test's
// folder.
func (h *harness) exists(name string) func() bool {
	return func() bool {
		_, err := os.Stat(filepath.Join(h.dir, name))
		return err == nil
	}
}

// onlyEnvironment reads the one environment whose folder exists.
func (h *harness) onlyEnvironment() db.Environment {
	h.t.Helper()
	dirs, _ := filepath.Glob(filepath.Join(h.dataDir, "venvs", "*", "*", "*", "*"))
	if len(dirs) != 1 {
		h.t.Fatalf("environment folders: %q; want one", dirs)
	}
	return h.environment(filepath.Base(dirs[0]))
}

// environmentPaths are an environment's folders.
func (h *harness) environmentPaths(e db.Environment) paths.EnvPaths {
	h.t.Helper()
	ep, err := h.layout.Env(e.WorkspaceID, e.ConfigurationID, e.DepsDigest, e.ID)
	if err != nil {
		h.t.Fatal(err)
	}
	return ep
}

// runPaths are a run's folders in the harness's data folder.
func (h *harness) runPaths(runID string) paths.RunPaths {
	h.t.Helper()
	rp, err := h.layout.Run(workspaceID, runID)
	if err != nil {
		h.t.Fatal(err)
	}
	return rp
}

// event is one record of an events.ndjson file.
type event struct {
	Timestamp string         `json:"timestamp"`
	Level     string         `json:"level"`
	Event     string         `json:"event"`
	Message   string         `json:"message"`
	Scope     string         `json:"scope"`
	Data      map[string]any `json:"data"`
	Context   map[string]any `json:"context"`
	raw       []byte
}

// time is the record's timestamp.
func (e event) time(t testing.TB) time.Time {
	t.Helper()
	ts, err := time.Parse(time.RFC3339Nano, e.Timestamp)
	if err != nil {
		t.Fatalf("event %s: timestamp %q: %v", e.Event, e.Timestamp, err)
	}
	return ts
}

// readEvents parses an events.ndjson file; every line must be a JSON object.
func readEvents(path string) ([]event, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var evs []event
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 4<<20)
	for sc.Scan() {
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return nil, fmt.Errorf("%s: line %d is not a JSON object: %v: %s", path, len(evs)+1, err, sc.Text())
		}
		e.raw = bytes.Clone(sc.Bytes())
		evs = append(evs, e)
	}
	return evs, sc.Err()
}

// runEvents reads a run's events.ndjson.
func (h *harness) runEvents(runID string) []event {
	h.t.Helper()
	evs, err := readEvents(h.runPaths(runID).Events)
	if err != nil {
		h.t.Fatalf("run %s events: %v", runID, err)
	}
	return evs
}

// environmentEvents reads an environment's events.ndjson.
func (h *harness) environmentEvents(e db.Environment) []event {
	h.t.Helper()
	evs, err := readEvents(h.environmentPaths(e).Events)
	if err != nil {
		h.t.Fatalf("environment %s events: %v", e.ID, err)
	}
	return evs
}

// named returns the events called name, in order.
func named(evs []event, name string) []event {
	var out []event
	for _, e := range evs {
		if e.Event == name {
			out = append(out, e)
		}
	}
	return out
}

// workerEvents are the names of the worker's own records (run.*,
// environment.*), in order, leaving out the plain lines subprocesses printed
// (<scope>.stdout, <scope>.stderr).
func workerEvents(evs []event, prefix string) []string {
	var out []string
	for _, e := range evs {
		if strings.HasPrefix(e.Event, prefix) && !strings.HasSuffix(e.Event, ".stdout") && !strings.HasSuffix(e.Event, ".stderr") {
			out = append(out, e.Event)
		}
	}
	return out
}

// fakeEngine writes an executable shell script under the test's folder.
// $CALLS (a file the harness reads with calls) gets one line per start.
func (h *harness) fakeEngine(name, body string) string {
	h.t.Helper()
	requireShell(h.t)
	path := filepath.Join(h.dir, name)
	script := "#!/bin/sh\nCALLS=" + shellQuote(h.callsFile(name)) + "\nDIR=" + shellQuote(h.dir) +
		"\necho \"$$ $*\" >> \"$CALLS\"\n" + body + "\n"
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		h.t.Fatal(err)
	}
	return path
}

func (h *harness) callsFile(name string) string { return filepath.Join(h.dir, name+".calls") }

// calls are the argument lines a fake was started with.
func (h *harness) calls(name string) []string {
	h.t.Helper()
	b, err := os.ReadFile(h.callsFile(name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		h.t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

// requireShell skips a test whose fake engines are shell scripts where the
// system cannot run them as programs.
func requireShell(t testing.TB) {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("the fake engines are shell scripts, which Windows does not run as programs")
	}
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// Shell fragments for fake engines.
const (
	// fakeOutputDir sets $OUT to the --output-dir argument.
	fakeOutputDir = `OUT=""; prev=""
for a in "$@"; do [ "$prev" = "--output-dir" ] && OUT="$a"; prev="$a"; done`
	// fakeSucceed writes a normalized file and prints a run summary.
	fakeSucceed = fakeOutputDir + `
printf 'member_id\n1\n' > "$OUT/normalized.csv"
echo '{"timestamp":"2026-01-01T00:00:00Z","level":"info","event":"engine.run.completed","message":"done","scope":"run","data":{"counts":{"rows":{"total":1,"empty":0}},"outputs":{"normalized":{"path":"'"$OUT"'/normalized.csv"}}}}'
exit 0`
)

// standInBuilder is the body of a stand-in for ADE_WORKER_PYTHON: its
// "-m venv DIR" makes a venv whose python runs pip as a no-op and anything
// else with real, the reference venv's python. A build then takes a moment,
// yet the worker's part of it is real and runs use the real engine.
func standInBuilder(real string) string {
	return `[ "$1" = "-m" ] && [ "$2" = "venv" ] || { echo "unexpected: $*" >&2; exit 2; }
mkdir -p "$3/bin"
cat > "$3/bin/python" <<EOF
#!/bin/sh
if [ "\$1" = "-m" ] && [ "\$2" = "pip" ]; then echo "pip stand-in: \$*"; exit 0; fi
exec ` + shellQuote(real) + ` "\$@"
EOF
chmod 755 "$3/bin/python"`
}

// readPid reads a pid a fake engine wrote to a file. The shell creates the
// file before it writes the pid, so an empty file is read again.
func readPid(t testing.TB, path string) int {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err == nil {
			return pid
		}
		if len(bytes.TrimSpace(b)) > 0 || time.Now().After(deadline) {
			t.Fatalf("pid file %s: %v", path, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// reference is the package's one real environment: the reference engine and
// examples/config-package installed into a venv by a real worker, offline.
type reference struct {
	once sync.Once
	err  error
	log  *logBuffer

	st      *store.Store
	dataDir string
	// runID is the CSV run the build was for; env is its environment.
	runID string
	env   db.Environment
	// took is how long the build and the run took together.
	took time.Duration
}

var ref reference

// referenceEnvironment builds the shared environment on first use; later
// callers wait for that build and share it.
func referenceEnvironment(t testing.TB) *reference {
	t.Helper()
	ref.once.Do(func() { ref.err = ref.build() })
	if ref.err != nil {
		t.Fatalf("the reference environment could not be built: %v", ref.err)
	}
	return &ref
}

// interpreter is the reference venv's python.
func (r *reference) interpreter() string { return r.env.PythonInterpreter.String }

// build enqueues a CSV run in a database of its own and lets a worker build
// the environment and process the run. It returns errors rather than fail a
// test: it runs inside a sync.Once that every test shares.
func (r *reference) build() (err error) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	r.log = &logBuffer{}
	defer func() {
		if err != nil {
			err = fmt.Errorf("%w\nworker log:\n%s", err, r.log.String())
		}
	}()
	dir := filepath.Join(pkgRoot, "reference")
	r.dataDir = filepath.Join(dir, "data")
	r.st, err = store.Open(ctx, "sqlite:///"+filepath.ToSlash(filepath.Join(dir, "ade.sqlite")), store.Options{Create: true})
	if err != nil {
		return err
	}
	if _, err := r.st.MigrateUp(ctx); err != nil {
		return err
	}
	cfg, err := loadConfig(baseSettings(r.dataDir))
	if err != nil {
		return err
	}
	layout, err := paths.New(r.dataDir)
	if err != nil {
		return err
	}
	e, err := enqueue.Insert(ctx, r.st, layout, enqueue.Request{EngineSpec: engineSpec, MaxAttempts: 1}, enqueue.Request{
		WorkspaceID: workspaceID,
		ConfigDir:   filepath.Join(repoRoot, "examples", "config-package"),
		InputFile:   filepath.Join(repoRoot, "examples", "inputs", "members.csv"),
	})
	if err != nil {
		return err
	}
	r.runID = e.RunID
	w, err := app.New(cfg, r.st, app.Options{Logger: r.log.logger(), Environ: apptest.SubprocessEnviron()})
	if err != nil {
		return err
	}
	if err := w.Run(ctx, app.RunOptions{Drain: true}); err != nil {
		return err
	}
	if ctx.Err() != nil {
		return errors.New("the build and run did not finish within 5 minutes")
	}
	run, err := r.st.Queries().GetRun(ctx, e.RunID)
	if err != nil {
		return err
	}
	if run.Status != "succeeded" {
		return fmt.Errorf("the reference run ended %s: %s", run.Status, run.ErrorMessage.String)
	}
	rp, err := layout.Run(workspaceID, e.RunID)
	if err != nil {
		return err
	}
	evs, err := readEvents(rp.Events)
	if err != nil {
		return err
	}
	start0 := named(evs, "run.start")
	if len(start0) == 0 {
		return errors.New("the reference run has no run.start event")
	}
	envID, _ := start0[0].Context["environment_id"].(string)
	if r.env, err = r.st.Queries().GetEnvironment(ctx, envID); err != nil {
		return fmt.Errorf("environment %q of the reference run: %w", envID, err)
	}
	r.took = time.Since(start)
	return nil
}

func (r *reference) close() {
	if r.st != nil {
		_ = r.st.Close()
	}
}
