package main

import (
	"bytes"
	"context"
	"database/sql"
	_ "embed"
	"encoding/json"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ade-dev/ade-worker/gen/db"
	"github.com/ade-dev/ade-worker/internal/app"
	"github.com/ade-dev/ade-worker/internal/enqueue"
	"github.com/ade-dev/ade-worker/internal/operator"
	"github.com/ade-dev/ade-worker/internal/paths"
	"github.com/ade-dev/ade-worker/internal/store"
)

var (
	//go:embed testdata/schema_ahead.sql
	schemaAheadSQL string
	//go:embed testdata/configuration.sql
	configurationSQL string
)

// repoRoot is the module root (tests run in cmd/ade-worker).
var repoRoot = func() string {
	abs, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		panic(err)
	}
	return abs
}()

var (
	exampleConfig = filepath.Join(repoRoot, "examples", "config-package")
	exampleCSV    = filepath.Join(repoRoot, "examples", "inputs", "members.csv")
)

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// fixture is one worker installation: a data folder with its own SQLite
// file, and the environment the CLI sees.
type fixture struct {
	t       *testing.T
	dataDir string
	dbPath  string
	dbURL   string
	environ []string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dataDir := filepath.Join(t.TempDir(), "data")
	f := &fixture{t: t, dataDir: dataDir, dbPath: filepath.Join(dataDir, "db", "ade.sqlite")}
	f.dbURL = "sqlite:///" + f.dbPath
	f.environ = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + os.Getenv("HOME"),
		"ADE_WORKER_DATA_DIR=" + dataDir,
		"ADE_DATABASE_URL=" + f.dbURL,
		"ADE_ENGINE_PACKAGE_PATH=" + filepath.Join(repoRoot, "apps", "ade-engine"),
		"ADE_WORKER_ENABLE_GC=0",
		"PIP_NO_INDEX=1",
	}
	return f
}

// with is the fixture's environment plus extra KEY=value pairs (later wins).
func (f *fixture) with(extra ...string) []string {
	return append(append([]string(nil), f.environ...), extra...)
}

type result struct {
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return "exit " + strconv.Itoa(r.code) + "\n--- stdout\n" + r.stdout + "\n--- stderr\n" + r.stderr
}

// runMain runs the CLI in-process with environ.
func runMain(environ []string, args ...string) result {
	var out, errb bytes.Buffer
	code := Main(args, environ, &out, &errb)
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

// main runs the CLI in-process with the fixture's environment.
func (f *fixture) main(args ...string) result { return runMain(f.environ, args...) }

// mustMain runs the CLI and fails the test unless it exits 0.
func (f *fixture) mustMain(args ...string) result {
	f.t.Helper()
	r := f.main(args...)
	if r.code != 0 {
		f.t.Fatalf("ade-worker %s: %s", strings.Join(args, " "), r)
	}
	return r
}

// store opens the fixture's database the way the worker does.
func (f *fixture) store() *store.Store {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := store.Open(ctx, f.dbURL, store.Options{DataDir: f.dataDir})
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { st.Close() })
	return st
}

// enqueue queues the example configuration and CSV with extra flags and
// returns what was created.
func (f *fixture) enqueue(extra ...string) enqueue.Queued {
	f.t.Helper()
	args := append([]string{"enqueue", "--workspace", "ws-cli", "--config-dir", exampleConfig, "--input", exampleCSV, "--json"}, extra...)
	r := f.mustMain(args...)
	var e enqueue.Queued
	if err := json.Unmarshal([]byte(r.stdout), &e); err != nil {
		f.t.Fatalf("enqueue --json printed %q: %v", r.stdout, err)
	}
	return e
}

func ns(s string) sql.NullString { return sql.NullString{String: s, Valid: true} }

// readyEnvironment makes the environment the queued runs need and marks it
// ready with interpreter as its Python, as a worker that built it would.
// It stands in for a venv build the tests here do not need.
func readyEnvironment(t *testing.T, st *store.Store, interpreter string) string {
	t.Helper()
	ctx := context.Background()
	var id string
	err := st.Write(ctx, func(q *db.Queries) error {
		if _, err := q.EnsureEnvironments(ctx, nil); err != nil {
			return err
		}
		env, err := q.ClaimEnvironment(ctx, db.ClaimEnvironmentParams{WorkerID: ns("test-setup"), LeaseSeconds: 60})
		if err != nil {
			return err
		}
		id = env.ID
		n, err := q.MarkEnvironmentReady(ctx, db.MarkEnvironmentReadyParams{
			PythonVersion: ns("3"), PythonInterpreter: ns(interpreter), EngineVersion: ns("test"),
			ID: env.ID, WorkerID: ns("test-setup"), AttemptCount: env.AttemptCount,
		})
		if err == nil && n != 1 {
			t.Errorf("mark environment ready changed %d rows", n)
		}
		return err
	})
	if err != nil {
		t.Fatalf("prepare a ready environment: %v", err)
	}
	return id
}

func python(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("python3")
	if err != nil {
		// Python's Windows installer puts python.exe on PATH, not python3.
		if p, err = exec.LookPath("python"); err != nil {
			t.Fatalf("python3 (or python) is needed: %v", err)
		}
	}
	return p
}

func TestHelp(t *testing.T) {
	env := newFixture(t).environ
	// Each command's --help names the command and its flags.
	mentions := map[string][]string{
		"run":     {"-drain", "ADE_WORKER_HTTP_ADDR", "migrate up"},
		"migrate": {"up", "down", "status"},
		"gc":      {"-dry-run", "-json"},
		"enqueue": {"-workspace", "-config-dir", "-input", "-options", "-max-attempts", "-sheets", "-configuration-id", "-json"},
		"status":  {"-json"},
		"demo":    {"-examples"},
		"version": {},
	}
	for _, c := range commands {
		if _, ok := mentions[c.name]; !ok {
			t.Errorf("command %q has no help test", c.name)
		}
	}
	for name, flags := range mentions {
		for _, form := range [][]string{{name, "--help"}, {name, "-h"}, {"help", name}} {
			r := runMain(env, form...)
			if r.code != 0 {
				t.Errorf("%v: %s", form, r)
				continue
			}
			if !strings.HasPrefix(r.stdout, "Usage: ade-worker "+name) {
				t.Errorf("%v: usage does not start with the command: %s", form, r)
			}
			for _, f := range flags {
				if !strings.Contains(r.stdout, f) {
					t.Errorf("%v: usage does not mention %q: %s", form, f, r)
				}
			}
		}
	}
	// A subcommand's --help wins over its other arguments.
	if r := runMain(env, "migrate", "up", "--help"); r.code != 0 || !strings.Contains(r.stdout, "Usage: ade-worker migrate") {
		t.Errorf("migrate up --help: %s", r)
	}

	for _, form := range [][]string{{"--help"}, {"-h"}, {"help"}} {
		r := runMain(env, form...)
		if r.code != 0 {
			t.Errorf("%v: %s", form, r)
		}
		for _, c := range commands {
			if !strings.Contains(r.stdout, "\n  "+c.name+" ") {
				t.Errorf("%v does not list %q: %s", form, c.name, r)
			}
		}
	}

	r := runMain(env, "version")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "ade-worker ") {
		t.Errorf("version: %s", r)
	}
}

// A command's synopsis (the usage lines of its --help) names every flag it
// takes, unless it says "[flags]" and leaves the rest to the list below it.
func TestSynopsisNamesEveryFlag(t *testing.T) {
	env := newFixture(t).environ
	flagLine := regexp.MustCompile(`(?m)^  -([a-z-]+)`)
	for _, c := range commands {
		r := runMain(env, c.name, "--help")
		synopsis, _, _ := strings.Cut(r.stdout, "\n\n")
		if strings.Contains(synopsis, "[flags]") {
			continue
		}
		for _, m := range flagLine.FindAllStringSubmatch(r.stdout, -1) {
			if !strings.Contains(synopsis, "--"+m[1]+" ") && !strings.Contains(synopsis, "--"+m[1]+"]") && !strings.HasSuffix(synopsis, "--"+m[1]) {
				t.Errorf("%s --help: the synopsis does not name --%s:\n%s", c.name, m[1], synopsis)
			}
		}
	}
}

func TestUsageErrors(t *testing.T) {
	env := newFixture(t).environ
	for _, args := range [][]string{
		{"frobnicate"},
		{"help", "frobnicate"},
		{"run", "--frob"},
		{"--frob"},
		{"status", "extra"},
		{"gc", "now"},
		{"migrate"},
		{"migrate", "sideways"},
		{"migrate", "up", "down"},
		{"enqueue", "--workspace", "ws"},
		{"enqueue", "--max-attempts", "many"},
	} {
		r := runMain(env, args...)
		if r.code != exitUsage {
			t.Errorf("%v: want exit 2, got %s", args, r)
		}
		if !strings.Contains(r.stderr, "Usage") && !strings.Contains(r.stderr, "required") {
			t.Errorf("%v: no usage on stderr: %s", args, r)
		}
		if r.stdout != "" {
			t.Errorf("%v: wrote to stdout: %s", args, r)
		}
	}
	if r := runMain(env, "frobnicate"); !strings.Contains(r.stderr, `unknown command "frobnicate"`) {
		t.Errorf("unknown command not named: %s", r)
	}
}

func TestInvalidSettingExits2NamingTheVariable(t *testing.T) {
	f := newFixture(t)
	for _, kv := range []string{
		"ADE_WORKER_CONCURRENCY=abc",
		"ADE_WORKER_LEASE_SECONDS=0",
		"ADE_WORKER_LOG_FORMAT=yaml",
		"ADE_WORKER_LOG_LEVEL=LOUD",
		"ADE_WORKER_POLL_INTERVAL=fast",
		"ADE_WORKER_HTTP_ADDR=nocolon",
		"ADE_DATABASE_SQLITE_JOURNAL_MODE=SIDEWAYS",
		"ADE_WORKER_MAX_ATTEMPTS_DEFAULT=0",
	} {
		name := strings.SplitN(kv, "=", 2)[0]
		for _, args := range [][]string{{"run"}, {"migrate", "up"}, {"status"}, {"enqueue", "--workspace", "w", "--config-dir", exampleConfig, "--input", exampleCSV}} {
			r := runMain(f.with(kv), args...)
			if r.code != exitUsage {
				t.Errorf("%s %v: want exit 2, got %s", kv, args, r)
				continue
			}
			if !strings.Contains(r.stderr, "invalid setting: "+name+":") {
				t.Errorf("%s %v: the variable is not named: %s", kv, args, r)
			}
		}
	}
	// Nothing was created: a bad setting stops before the database.
	if _, err := os.Stat(f.dbPath); !os.IsNotExist(err) {
		t.Errorf("a database file was created despite bad settings: %v", err)
	}

	// A database URL that cannot be parsed is a bad setting too, and its
	// password is not echoed.
	for _, u := range []string{"bogus://user:hunter2@db/ade", "mssql://user:hunter2@db:notaport/ade", "no-scheme-hunter2"} {
		r := runMain(f.with("ADE_DATABASE_URL="+u), "status")
		if r.code != exitUsage || !strings.Contains(r.stderr, "ADE_DATABASE_URL") {
			t.Errorf("%s: want exit 2 naming ADE_DATABASE_URL, got %s", u, r)
		}
		if strings.Contains(r.stdout+r.stderr, "hunter2") {
			t.Errorf("%s: the password was printed: %s", u, r)
		}
	}
}

// TestMissingDatabaseIsNotCreated: only `migrate up` (and
// ADE_WORKER_AUTO_CREATE_SCHEMA) makes a database; every other command
// refuses a missing file, naming it and how its path was derived, and
// leaves neither the file nor its folder behind.
func TestMissingDatabaseIsNotCreated(t *testing.T) {
	f := newFixture(t)
	for _, args := range [][]string{{"run", "--drain"}, {"status"}, {"gc", "--dry-run"}, {"migrate", "status"}, {"migrate", "down"},
		{"enqueue", "--workspace", "w", "--config-dir", exampleConfig, "--input", exampleCSV}} {
		r := f.main(args...)
		if r.code != exitFailure || !strings.Contains(r.stderr, "database file does not exist: "+f.dbPath) || !strings.Contains(r.stderr, "migrate up") {
			t.Errorf("%v on a missing database: want exit 1 naming the file and migrate up, got %s", args, r)
		}
		if _, err := os.Stat(filepath.Dir(f.dbPath)); !os.IsNotExist(err) {
			t.Fatalf("%v made the database folder: %v", args, err)
		}
	}
	var noURL []string
	for _, kv := range f.environ {
		if !strings.HasPrefix(kv, "ADE_DATABASE_URL=") {
			noURL = append(noURL, kv)
		}
	}
	r := runMain(noURL, "status")
	if !strings.Contains(r.stderr, "ADE_WORKER_DATA_DIR") {
		t.Errorf("status on a missing default database does not say the path comes from ADE_WORKER_DATA_DIR: %s", r)
	}
	f.mustMain("migrate", "up")
	f.mustMain("status")
}

func TestMigrate(t *testing.T) {
	f := newFixture(t)

	// An empty file is an empty SQLite database, as the API may leave one.
	if err := os.MkdirAll(filepath.Dir(f.dbPath), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f.dbPath, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	r := f.mustMain("migrate", "status")
	for _, want := range []string{"current version: 0", "latest version: 4", "pending: [1 2 3 4]", "state: database schema is behind"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("migrate status on a fresh database lacks %q: %s", want, r)
		}
	}

	r = f.mustMain("migrate", "up")
	if !strings.Contains(r.stdout, "applied migrations [1 2 3 4]") {
		t.Errorf("first migrate up: %s", r)
	}
	// The second is a no-op.
	r = f.mustMain("migrate", "up")
	if !strings.Contains(r.stdout, "schema is current") {
		t.Errorf("second migrate up: %s", r)
	}
	r = f.mustMain("migrate", "status")
	for _, want := range []string{"current version: 4", "latest version: 4", "pending: []", "state: current"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("migrate status after up lacks %q: %s", want, r)
		}
	}

	for _, v := range []string{"4", "3", "2", "1"} {
		r = f.mustMain("migrate", "down")
		if !strings.Contains(r.stdout, "rolled back migration "+v) {
			t.Errorf("migrate down: %s", r)
		}
	}
	if r := f.main("migrate", "down"); r.code != exitFailure || !strings.Contains(r.stderr, "no migration to roll back") {
		t.Errorf("migrate down on an empty schema: %s", r)
	}
	if r := f.mustMain("migrate", "status"); !strings.Contains(r.stdout, "current version: 0") {
		t.Errorf("migrate status after down: %s", r)
	}
	f.mustMain("migrate", "up")
}

func TestRunRefusesMissingSchema(t *testing.T) {
	f := newFixture(t)
	for _, args := range [][]string{{"run"}, {"run", "--drain"}, {"gc"}, {"status"}} {
		r := f.main(args...)
		if r.code == 0 {
			t.Fatalf("%v on an unmigrated database exited 0: %s", args, r)
		}
		for _, want := range []string{"ade-worker migrate up", "ADE_WORKER_AUTO_CREATE_SCHEMA=1"} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("%v: the refusal does not say %q: %s", args, want, r)
			}
		}
	}
	// With ADE_WORKER_AUTO_CREATE_SCHEMA=1 the same start migrates and,
	// with nothing queued, drains at once.
	r := runMain(f.with("ADE_WORKER_AUTO_CREATE_SCHEMA=1", "ADE_WORKER_POLL_INTERVAL=0.05"), "run", "--drain")
	if r.code != 0 {
		t.Fatalf("run --drain with auto-create: %s", r)
	}
	if !strings.Contains(r.stderr, "schema migrated") || !strings.Contains(r.stderr, "drained") {
		t.Errorf("run --drain with auto-create did not log its migration and drain: %s", r)
	}
	if r := f.mustMain("migrate", "status"); !strings.Contains(r.stdout, "state: current") {
		t.Errorf("after auto-create: %s", r)
	}
}

func TestMigrateUpRefusesDatabaseAhead(t *testing.T) {
	f := newFixture(t)
	f.mustMain("migrate", "up")
	st := f.store()
	if _, err := st.DB().Exec(schemaAheadSQL); err != nil {
		t.Fatal(err)
	}

	r := f.main("migrate", "up")
	if r.code != exitFailure || !strings.Contains(r.stderr, "ahead of this worker") || !strings.Contains(r.stderr, "upgrade ade-worker") {
		t.Errorf("migrate up on a database ahead: %s", r)
	}
	r = f.main("run", "--drain")
	if r.code != exitFailure || !strings.Contains(r.stderr, "ahead of this worker") {
		t.Errorf("run on a database ahead: %s", r)
	}
	r = f.mustMain("migrate", "status")
	if !strings.Contains(r.stdout, "current version: 99999") || !strings.Contains(r.stdout, "ahead of this worker") {
		t.Errorf("migrate status on a database ahead: %s", r)
	}
	// status still reads the queue of a database a newer worker migrated.
	r = f.mustMain("status", "--json")
	var s operator.Status
	if err := json.Unmarshal([]byte(r.stdout), &s); err != nil || s.SchemaVersion != 99999 || s.SchemaLatest != 4 {
		t.Errorf("status --json on a database ahead: %v %s", err, r)
	}
}

func TestEnqueue(t *testing.T) {
	f := newFixture(t)
	f.environ = f.with("ADE_WORKER_MAX_ATTEMPTS_DEFAULT=4")
	f.mustMain("migrate", "up")
	st := f.store()
	ctx := context.Background()
	layout, err := paths.New(f.dataDir)
	if err != nil {
		t.Fatal(err)
	}

	// The plain form prints the run id alone, for scripts.
	r := f.mustMain("enqueue", "--workspace", "ws-cli", "--config-dir", exampleConfig, "--input", exampleCSV,
		"--options", `{"dry_run": true}`, "--max-attempts", "5", "--sheets", "Members,Other")
	runID := strings.TrimSpace(r.stdout)
	if !uuidRE.MatchString(runID) {
		t.Fatalf("enqueue printed %q, want a run id", r.stdout)
	}
	run, err := st.Queries().GetRun(ctx, runID)
	if err != nil {
		t.Fatalf("the printed run id has no row: %v", err)
	}
	if run.Status != "queued" || run.WorkspaceID != "ws-cli" || run.MaxAttempts != 5 || run.AttemptCount != 0 ||
		run.RunOptions.String != `{"dry_run": true}` || run.InputSheetNames.String != `["Members","Other"]` ||
		run.EngineSpec != filepath.Join(repoRoot, "apps", "ade-engine") || !strings.HasPrefix(run.DepsDigest, "sha256:") {
		t.Errorf("run row: %+v", run)
	}

	// The document row points at a copy of the input where the API keeps
	// documents.
	doc, err := st.Queries().GetDocument(ctx, db.GetDocumentParams{ID: run.InputDocumentID, WorkspaceID: "ws-cli"})
	if err != nil {
		t.Fatalf("document row: %v", err)
	}
	if doc.OriginalFilename != "members.csv" {
		t.Errorf("document row: %+v", doc)
	}
	stored, err := layout.DocumentPath("ws-cli", doc.StoredUri)
	if err != nil {
		t.Fatalf("stored_uri %q does not resolve: %v", doc.StoredUri, err)
	}
	if !strings.HasPrefix(stored, filepath.Join(f.dataDir, "workspaces", "ws-cli", "documents")+string(filepath.Separator)) {
		t.Errorf("document stored at %s, outside the workspace's documents", stored)
	}
	sameFile(t, exampleCSV, stored)

	// The configuration row is active and its package is copied.
	var wsID, status string
	if err := st.DB().QueryRow(configurationSQL, run.ConfigurationID).Scan(&wsID, &status); err != nil {
		t.Fatalf("configuration row: %v", err)
	}
	if wsID != "ws-cli" || status != "active" {
		t.Errorf("configuration row: workspace %q, status %q", wsID, status)
	}
	cfgDir, err := layout.ConfigPackageDir("ws-cli", run.ConfigurationID)
	if err != nil {
		t.Fatal(err)
	}
	copied := 0
	err = filepath.WalkDir(exampleConfig, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "__pycache__" || strings.HasSuffix(d.Name(), ".egg-info")) {
			return filepath.SkipDir
		}
		if !d.Type().IsRegular() || strings.HasSuffix(d.Name(), ".pyc") {
			return nil
		}
		rel, _ := filepath.Rel(exampleConfig, p)
		sameFile(t, p, filepath.Join(cfgDir, rel))
		copied++
		return nil
	})
	if err != nil || copied < 2 {
		t.Fatalf("compare the configuration package (%d files): %v", copied, err)
	}

	// Enqueuing the same folder again reuses the configuration and its
	// dependency key; --max-attempts defaults to the setting.
	e := f.enqueue()
	if e.RunID == runID || e.ConfigurationID != run.ConfigurationID || e.DepsDigest != run.DepsDigest || e.DocumentID == run.InputDocumentID {
		t.Errorf("second enqueue: %+v, first run %+v", e, run)
	}
	run2, err := st.Queries().GetRun(ctx, e.RunID)
	if err != nil || run2.MaxAttempts != 4 || run2.RunOptions.Valid {
		t.Errorf("second run row: %+v %v", run2, err)
	}

	// Bad flags exit 2 with a reason naming the flag, and create nothing.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--options", "not json"}, "--options: "},
		{[]string{"--options", `{"dry_run": "perhaps"}`}, "--options: "},
		{[]string{"--input", filepath.Join(t.TempDir(), "missing.csv")}, "--input: "},
		{[]string{"--config-dir", filepath.Join(t.TempDir(), "missing")}, "--config-dir: "},
		{[]string{"--workspace", "../escape"}, "--workspace: "},
	} {
		args := append([]string{"enqueue", "--workspace", "ws-cli", "--config-dir", exampleConfig, "--input", exampleCSV}, c.args...)
		r := f.main(args...)
		if r.code != exitUsage || !strings.Contains(r.stderr, "ade-worker enqueue: "+c.want) {
			t.Errorf("%v: want exit 2 mentioning %q, got %s", c.args, c.want, r)
		}
	}
	counts, err := st.Queries().CountRunsByStatus(ctx)
	if err != nil || len(counts) != 1 || counts[0].Count != 2 {
		t.Errorf("runs after the bad requests: %+v %v", counts, err)
	}
}

func sameFile(t *testing.T, want, got string) {
	t.Helper()
	a, err := os.ReadFile(want)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(got)
	if err != nil {
		t.Fatalf("copy of %s: %v", want, err)
	}
	if !bytes.Equal(a, b) {
		t.Errorf("%s differs from %s", got, want)
	}
}

func TestStatus(t *testing.T) {
	f := newFixture(t)
	f.mustMain("migrate", "up")
	st := f.store()
	ctx := context.Background()

	readStatus := func() operator.Status {
		t.Helper()
		r := f.mustMain("status", "--json")
		var s operator.Status
		dec := json.NewDecoder(strings.NewReader(r.stdout))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&s); err != nil {
			t.Fatalf("status --json printed %q: %v", r.stdout, err)
		}
		return s
	}

	s := readStatus()
	if s.SchemaLatest < 1 || s.SchemaVersion != s.SchemaLatest || !strings.HasPrefix(s.Database, "sqlite:///") || len(s.Leases) != 0 || s.OldestQueuedRunID != "" {
		t.Errorf("empty queue: %+v", s)
	}
	for _, k := range []string{"queued", "running", "succeeded", "failed"} {
		if n, ok := s.Runs[k]; !ok || n != 0 {
			t.Errorf("empty queue: runs[%s] = %d, %v", k, n, ok)
		}
	}

	first := f.enqueue()
	second := f.enqueue()
	s = readStatus()
	if s.Runs["queued"] != 2 || s.Runs["running"] != 0 || s.OldestQueuedRunID == "" || s.OldestQueuedAge < 0 || len(s.Leases) != 0 {
		t.Errorf("two queued runs: %+v", s)
	}
	if s.OldestQueuedRunID != first.RunID && s.OldestQueuedRunID != second.RunID {
		t.Errorf("oldest queued run %q is neither enqueued run", s.OldestQueuedRunID)
	}

	// A worker claims one run: it shows as running with its lease.
	readyEnvironment(t, st, python(t))
	before := time.Now()
	var claimed db.ClaimRunRow
	if err := st.Write(ctx, func(q *db.Queries) error {
		var err error
		claimed, err = q.ClaimRun(ctx, db.ClaimRunParams{WorkerID: ns("status-test-worker"), LeaseSeconds: 120})
		return err
	}); err != nil {
		t.Fatalf("claim a run: %v", err)
	}
	other := first.RunID
	if claimed.ID == first.RunID {
		other = second.RunID
	}

	s = readStatus()
	if s.Runs["queued"] != 1 || s.Runs["running"] != 1 || s.Environments["ready"] != 1 || s.Environments["queued"] != 0 {
		t.Errorf("after a claim: runs %v, environments %v", s.Runs, s.Environments)
	}
	if s.OldestQueuedRunID != other {
		t.Errorf("oldest queued run = %q, want the unclaimed %q", s.OldestQueuedRunID, other)
	}
	if len(s.Leases) != 1 {
		t.Fatalf("leases: %+v", s.Leases)
	}
	l := s.Leases[0]
	if l.RunID != claimed.ID || l.WorkspaceID != "ws-cli" || l.ClaimedBy != "status-test-worker" || l.Attempt != 1 {
		t.Errorf("lease: %+v", l)
	}
	if l.ExpiresIn <= 60 || l.ExpiresIn > 121 || l.ExpiresAt.Sub(l.StartedAt) < 119*time.Second || l.ExpiresAt.Sub(l.StartedAt) > 121*time.Second {
		t.Errorf("lease times: %+v", l)
	}
	if l.StartedAt.Before(before.Add(-5*time.Second)) || l.StartedAt.After(time.Now().Add(5*time.Second)) {
		t.Errorf("lease started at %s, claimed at %s", l.StartedAt, before)
	}

	// The text form says the same for people.
	r := f.mustMain("status")
	for _, want := range []string{"runs:         queued 1, running 1, succeeded 0, failed 0", "environments: queued 0, building 0, ready 1, failed 0",
		"oldest queued run: " + other, "running:", claimed.ID, "status-test-worker"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("status lacks %q: %s", want, r)
		}
	}
}

func TestLogFormatAndLevel(t *testing.T) {
	f := newFixture(t)
	f.environ = f.with("ADE_WORKER_AUTO_CREATE_SCHEMA=1", "ADE_WORKER_POLL_INTERVAL=0.05", "ADE_WORKER_ID=log-test-worker")
	lines := func(r result) []string {
		t.Helper()
		if r.code != 0 {
			t.Fatalf("run --drain: %s", r)
		}
		return strings.Split(strings.TrimSpace(r.stderr), "\n")
	}

	// Text by default, at INFO.
	text := lines(f.main("run", "--drain"))
	for _, l := range text {
		if !strings.HasPrefix(l, "time=") || !strings.Contains(l, " level=") {
			t.Errorf("not a text log line: %q", l)
		}
	}
	if !strings.Contains(text[0], `msg="effective settings"`) || !strings.Contains(text[0], "settings.ADE_WORKER_ID=log-test-worker") {
		t.Errorf("the first line is not the effective settings: %q", text[0])
	}
	if !strings.Contains(strings.Join(text, "\n"), `msg="worker started" worker_id=log-test-worker`) {
		t.Errorf("no start line naming the worker:\n%s", strings.Join(text, "\n"))
	}

	// JSON on request: every line one object with a level and a message.
	for _, l := range lines(runMain(f.with("ADE_WORKER_LOG_FORMAT=json"), "run", "--drain")) {
		var rec map[string]any
		if err := json.Unmarshal([]byte(l), &rec); err != nil || rec["level"] == nil || rec["msg"] == nil || rec["time"] == nil {
			t.Errorf("not a JSON log line: %q (%v)", l, err)
		}
	}

	// The level filters: at WARNING a clean drain says nothing; the level
	// is read case-insensitively.
	if r := runMain(f.with("ADE_WORKER_LOG_LEVEL=WARNING"), "run", "--drain"); r.code != 0 || r.stderr != "" {
		t.Errorf("at WARNING: %s", r)
	}
	debug := lines(runMain(f.with("ADE_WORKER_LOG_LEVEL=debug"), "run", "--drain"))
	if !strings.Contains(debug[0], "settings.ADE_WORKER_LOG_LEVEL=DEBUG") {
		t.Errorf("at debug: %q", debug[0])
	}
}

func TestRunRefusesABusyHTTPAddress(t *testing.T) {
	f := newFixture(t)
	f.mustMain("migrate", "up")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	r := runMain(f.with("ADE_WORKER_HTTP_ADDR="+ln.Addr().String()), "run")
	if r.code != exitFailure || !strings.Contains(r.stderr, "ADE_WORKER_HTTP_ADDR") || !strings.Contains(r.stderr, "address already in use") {
		t.Errorf("run with its HTTP address taken: %s", r)
	}
}

func TestGCCommand(t *testing.T) {
	f := newFixture(t)
	f.mustMain("migrate", "up")
	// A finished run's folder older than the TTL is listed by a dry run and
	// deleted by a real one.
	e := f.enqueue("--options", `{"dry_run": true}`)
	st := f.store()
	ctx := context.Background()
	readyEnvironment(t, st, python(t))
	if err := st.Write(ctx, func(q *db.Queries) error {
		if _, err := q.ClaimRun(ctx, db.ClaimRunParams{WorkerID: ns("gc-test"), LeaseSeconds: 60}); err != nil {
			return err
		}
		_, err := q.CompleteRun(ctx, db.CompleteRunParams{Now: "2000-01-01 00:00:00.000000", ID: e.RunID, WorkerID: ns("gc-test"), AttemptCount: 1})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	layout, err := paths.New(f.dataDir)
	if err != nil {
		t.Fatal(err)
	}
	runDir, err := layout.RunDir("ws-cli", e.RunID)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(runDir, 0o755); err != nil {
		t.Fatal(err)
	}

	report := func(args ...string) app.GCReport {
		t.Helper()
		r := f.mustMain(append([]string{"gc", "--json"}, args...)...)
		var rep app.GCReport
		if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
			t.Fatalf("gc --json printed %q: %v", r.stdout, err)
		}
		return rep
	}
	if rep := report("--dry-run"); !rep.DryRun || len(rep.RunFoldersDeleted) != 1 || rep.RunFoldersDeleted[0] != e.RunID {
		t.Errorf("gc --dry-run: %+v", rep)
	}
	if _, err := os.Stat(runDir); err != nil {
		t.Errorf("a dry run deleted the run folder: %v", err)
	}
	if rep := report(); rep.DryRun || len(rep.RunFoldersDeleted) != 1 {
		t.Errorf("gc: %+v", rep)
	}
	if _, err := os.Stat(runDir); !os.IsNotExist(err) {
		t.Errorf("gc left the expired run folder: %v", err)
	}
	if r := f.mustMain("gc", "--dry-run"); !strings.Contains(r.stdout, "run folders would delete: 0") {
		t.Errorf("gc --dry-run text: %s", r)
	}
	// Nothing left to collect is an empty list in JSON, never null.
	r := f.mustMain("gc", "--dry-run", "--json")
	var lists map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &lists); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"environments_deleted", "environments_kept", "run_folders_deleted", "errors"} {
		if l, ok := lists[key].([]any); !ok || len(l) != 0 {
			t.Errorf("gc --dry-run --json: %s is %v, want []:\n%s", key, lists[key], r.stdout)
		}
	}
}
