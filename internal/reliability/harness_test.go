//go:build unix

package reliability

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ade-dev/ade-worker/gen/db"
	"github.com/ade-dev/ade-worker/internal/store"
	"github.com/ade-dev/ade-worker/internal/store/storetest"
)

// workerBin is the ade-worker binary built once by TestMain.
var workerBin string

var (
	//go:embed testdata/ready_environment.sql
	readyEnvironmentSQL string
	//go:embed testdata/mssql/ready_environment.sql
	readyEnvironmentMSSQL string
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ade-reliability-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	workerBin = filepath.Join(dir, "ade-worker")
	build := exec.Command("go", "build", "-o", workerBin, "github.com/ade-dev/ade-worker/cmd/ade-worker")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build ade-worker:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const (
	testWorkspace  = "ws-reliability"
	testEngineSpec = "apps/ade-engine"
)

// fixture is one test's world: a data folder, a migrated SQLite file, a
// copy of fakepython, a markers folder, and the workers it started.
type fixture struct {
	t          *testing.T
	root       string
	dataDir    string
	dbPath     string
	markers    string
	fakePython string
	st         *store.Store
	q          *db.Queries
	// url is the workers' ADE_DATABASE_URL when it is not the SQLite file
	// (a live T-SQL database, see newMSSQLFixture).
	url string

	mu      sync.Mutex
	workers []*workerProc
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	root := t.TempDir()
	f := &fixture{
		t:       t,
		root:    root,
		dataDir: filepath.Join(root, "data"),
		dbPath:  filepath.Join(root, "db", "ade.sqlite"),
		markers: filepath.Join(root, "markers"),
	}
	for _, dir := range []string{f.dataDir, f.markers, filepath.Join(root, "bin"), filepath.Dir(f.dbPath)} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	src, err := os.ReadFile(filepath.Join("testdata", "fakepython"))
	if err != nil {
		t.Fatal(err)
	}
	// The shebang names the real interpreter (python3 on PATH may be a slow
	// shim) and skips site-packages: fakepython needs only the stdlib.
	_, body, _ := bytes.Cut(src, []byte("\n"))
	src = append([]byte("#!"+realPython(t)+" -IS\n"), body...)
	f.fakePython = filepath.Join(root, "bin", "fakepython")
	if err := os.WriteFile(f.fakePython, src, 0o755); err != nil {
		t.Fatal(err)
	}
	f.st = storetest.SQLiteAt(t, f.dbPath)
	f.q = f.st.Queries()
	t.Cleanup(f.stopAll)
	return f
}

var (
	realPythonOnce sync.Once
	realPythonPath string
	realPythonErr  error
)

// realPython is the absolute path of the python3 interpreter itself.
func realPython(t *testing.T) string {
	t.Helper()
	realPythonOnce.Do(func() {
		out, err := exec.Command("python3", "-c", "import sys; print(sys.executable)").Output()
		realPythonPath, realPythonErr = strings.TrimSpace(string(out)), err
	})
	if realPythonErr != nil || realPythonPath == "" {
		t.Skipf("python3 is needed for the fake engine: %v", realPythonErr)
	}
	return realPythonPath
}

func (f *fixture) dbURL() string {
	if f.url != "" {
		return f.url
	}
	return "sqlite:///" + filepath.ToSlash(f.dbPath)
}

func (f *fixture) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	f.t.Cleanup(cancel)
	return ctx
}

// configPackage writes a configuration package whose engine behaves as
// mode says (see testdata/fakepython).
func (f *fixture) configPackage(ws, cfg, mode string) string {
	f.t.Helper()
	dir := filepath.Join(f.dataDir, "workspaces", ws, "config_packages", cfg)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		f.t.Fatal(err)
	}
	files := map[string]string{
		"mode":           mode + "\n",
		"pyproject.toml": "[project]\nname = \"cfg\"\nversion = \"0\"\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			f.t.Fatal(err)
		}
	}
	return dir
}

// readyEnvironment inserts a ready environment for the key whose
// interpreter is fakepython.
func (f *fixture) readyEnvironment(ws, cfg string) {
	f.t.Helper()
	text := readyEnvironmentSQL
	if f.st.Dialect() == store.MSSQL {
		text = readyEnvironmentMSSQL
	}
	_, err := f.st.DB().ExecContext(f.ctx(), text,
		sql.Named("id", uuid.NewString()), sql.Named("workspace_id", ws), sql.Named("configuration_id", cfg),
		sql.Named("engine_spec", testEngineSpec), sql.Named("deps_digest", digestOf(cfg)),
		sql.Named("python_interpreter", f.fakePython))
	if err != nil {
		f.t.Fatalf("insert ready environment: %v", err)
	}
}

// digestOf is the deps_digest of a test configuration: any stable value
// does, since no build reads it.
func digestOf(cfg string) string {
	sum := sha256.Sum256([]byte(cfg))
	return "sha256:" + hex.EncodeToString(sum[:8])
}

// document stores content as a document of ws and inserts its row with
// storedURI; an empty storedURI means "file:<id>/<name>".
func (f *fixture) document(ws, name, storedURI string, content []byte) string {
	f.t.Helper()
	id := uuid.NewString()
	if content != nil {
		dir := filepath.Join(f.dataDir, "workspaces", ws, "documents", id)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			f.t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), content, 0o644); err != nil {
			f.t.Fatal(err)
		}
	}
	if storedURI == "" {
		storedURI = "file:" + id + "/" + name
	}
	if err := f.q.InsertDocument(f.ctx(), db.InsertDocumentParams{ID: id, WorkspaceID: ws, OriginalFilename: name, StoredUri: storedURI}); err != nil {
		f.t.Fatalf("insert document: %v", err)
	}
	return id
}

// runSpec is one run to queue.
type runSpec struct {
	ws, cfg     string
	docID       string // default: a fresh members.csv document
	options     string // runs.run_options; "" is NULL
	maxAttempts *int64 // default 3
	engineSpec  string // default testEngineSpec
}

func attempts(n int64) *int64 { return &n }

func (f *fixture) queueRun(r runSpec) string {
	f.t.Helper()
	if r.ws == "" {
		r.ws = testWorkspace
	}
	if r.docID == "" {
		r.docID = f.document(r.ws, "members.csv", "", []byte("name\nAda\n"))
	}
	if r.maxAttempts == nil {
		r.maxAttempts = attempts(3)
	}
	if r.engineSpec == "" {
		r.engineSpec = testEngineSpec
	}
	id := uuid.NewString()
	err := f.q.InsertRun(f.ctx(), db.InsertRunParams{
		ID: id, WorkspaceID: r.ws, ConfigurationID: r.cfg, InputDocumentID: r.docID,
		RunOptions: sql.NullString{String: r.options, Valid: r.options != ""},
		EngineSpec: r.engineSpec, DepsDigest: digestOf(r.cfg), MaxAttempts: *r.maxAttempts,
	})
	if err != nil {
		f.t.Fatalf("insert run: %v", err)
	}
	return id
}

// simpleRuns sets up one configuration whose engine behaves as mode says,
// its ready environment, and n queued runs.
func (f *fixture) simpleRuns(cfg, mode string, n int) []string {
	f.t.Helper()
	f.configPackage(testWorkspace, cfg, mode)
	f.readyEnvironment(testWorkspace, cfg)
	ids := make([]string, n)
	for i := range ids {
		ids[i] = f.queueRun(runSpec{cfg: cfg})
	}
	return ids
}

func (f *fixture) run(id string) db.Run {
	f.t.Helper()
	r, err := f.q.GetRun(f.ctx(), id)
	if err != nil {
		f.t.Fatalf("read run %s: %v", id, err)
	}
	return r
}

// waitFor polls cond until it holds or timeout passes.
func (f *fixture) waitFor(timeout time.Duration, what string, cond func() bool) {
	f.t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			f.t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitTerminal waits until every run has left queued and running.
func (f *fixture) waitTerminal(timeout time.Duration, ids ...string) {
	f.t.Helper()
	f.waitFor(timeout, fmt.Sprintf("%d runs to finish", len(ids)), func() bool {
		for _, id := range ids {
			if s := f.run(id).Status; s != "succeeded" && s != "failed" {
				return false
			}
		}
		return true
	})
}

// runEvents reads a run's events.ndjson.
func (f *fixture) runEvents(ws, runID string) []map[string]any {
	f.t.Helper()
	return readNDJSON(f.t, filepath.Join(f.dataDir, "workspaces", ws, "runs", runID, "logs", "events.ndjson"))
}

func readNDJSON(t *testing.T, path string) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Errorf("%s: line is not JSON: %v: %.200q", path, err, sc.Text())
			continue
		}
		out = append(out, m)
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return out
}

func hasEvent(events []map[string]any, name string) bool {
	for _, e := range events {
		if e["event"] == name {
			return true
		}
	}
	return false
}

// execution is one marker file of fakepython: one engine run or build step.
type execution struct {
	name       string // "run-<run id>" or "build"
	pid        int
	start, end time.Time // end is the last sign of life when there is no "end"
	finished   bool
}

func (f *fixture) executions() []execution {
	f.t.Helper()
	entries, err := os.ReadDir(f.markers)
	if err != nil {
		f.t.Fatal(err)
	}
	var out []execution
	for _, e := range entries {
		parts := strings.Split(e.Name(), ".")
		if len(parts) != 3 {
			continue
		}
		pid, _ := strconv.Atoi(parts[1])
		x := execution{name: parts[0], pid: pid}
		b, err := os.ReadFile(filepath.Join(f.markers, e.Name()))
		if err != nil {
			f.t.Fatal(err)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			fields := strings.Fields(line)
			if len(fields) != 3 {
				continue // a line cut short by a kill
			}
			ns, _ := strconv.ParseInt(fields[1], 10, 64)
			at := time.Unix(0, ns)
			switch fields[0] {
			case "start":
				x.start, x.end = at, at
			case "tick":
				x.end = at
			case "end":
				x.end, x.finished = at, true
			}
		}
		out = append(out, x)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].start.Before(out[j].start) })
	return out
}

// executionsByRun groups the engine executions by run id.
func (f *fixture) executionsByRun() map[string][]execution {
	f.t.Helper()
	byRun := map[string][]execution{}
	for _, x := range f.executions() {
		id := strings.TrimPrefix(x.name, "run-")
		byRun[id] = append(byRun[id], x)
	}
	return byRun
}

// checkNoOverlap fails when two executions of one of the runs overlapped:
// each must start after the last sign of life of the one before it.
func (f *fixture) checkNoOverlap(ids []string) {
	f.t.Helper()
	byRun := f.executionsByRun()
	for _, id := range ids {
		xs := byRun[id]
		for i := 1; i < len(xs); i++ {
			if !xs[i].start.After(xs[i-1].end) {
				f.t.Errorf("run %s: executions overlap: pid %d [%s, %s] and pid %d started %s", id,
					xs[i-1].pid, xs[i-1].start.Format(time.StampMicro), xs[i-1].end.Format(time.StampMicro), xs[i].pid, xs[i].start.Format(time.StampMicro))
			}
		}
	}
}

// waitExecution waits for the first execution whose marker name starts with
// prefix and returns it.
func (f *fixture) waitExecution(timeout time.Duration, prefix string) execution {
	f.t.Helper()
	var found execution
	f.waitFor(timeout, "an execution of "+prefix, func() bool {
		for _, x := range f.executions() {
			if strings.HasPrefix(x.name, prefix) {
				found = x
				return true
			}
		}
		return false
	})
	return found
}

// workerProc is one running ade-worker process.
type workerProc struct {
	id      string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{}
	state   *os.ProcessState
}

// baseEnv is the environment of every worker: short leases and polls, JSON
// logs, no GC, the offline pip settings, and nothing inherited from the
// test's own environment but PATH and HOME.
func (f *fixture) baseEnv(id string) []string {
	return []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + f.root,
		"ADE_DATABASE_URL=" + f.dbURL(),
		"ADE_WORKER_DATA_DIR=" + f.dataDir,
		"ADE_WORKER_ID=" + id,
		"ADE_WORKER_LOG_FORMAT=json",
		"ADE_WORKER_LOG_LEVEL=INFO",
		"ADE_WORKER_LEASE_SECONDS=3",
		"ADE_WORKER_CLEANUP_INTERVAL=0.5",
		"ADE_WORKER_POLL_INTERVAL=0.05",
		"ADE_WORKER_POLL_INTERVAL_MAX=0.2",
		"ADE_WORKER_BACKOFF_BASE_SECONDS=0.2",
		"ADE_WORKER_BACKOFF_MAX_SECONDS=1",
		"ADE_WORKER_ENABLE_GC=0",
		"ADE_WORKER_CONCURRENCY=2",
		"ADE_WORKER_SHUTDOWN_GRACE_SECONDS=10",
		"ADE_WORKER_PYTHON=" + f.fakePython,
		"ADE_FAKE_MARKERS=" + f.markers,
		// The engine gets an allowlisted environment: fakepython's
		// markers folder is named for it.
		"ADE_WORKER_ENGINE_ENV_PASSTHROUGH=ADE_FAKE_MARKERS",
		"PIP_NO_INDEX=1",
		"PIP_FIND_LINKS=/usr/share/python-wheels",
	}
}

// startWorker starts `ade-worker run` with baseEnv overridden by env
// ("NAME=value" entries).
func (f *fixture) startWorker(id string, env ...string) *workerProc {
	f.t.Helper()
	return f.startCommand(id, []string{"run"}, env...)
}

func (f *fixture) startCommand(id string, args []string, env ...string) *workerProc {
	f.t.Helper()
	w := &workerProc{id: id, logPath: filepath.Join(f.root, "worker-"+id+".log"), done: make(chan struct{})}
	logFile, err := os.Create(w.logPath)
	if err != nil {
		f.t.Fatal(err)
	}
	w.cmd = exec.Command(workerBin, args...)
	w.cmd.Dir = f.root // no .env file there
	w.cmd.Env = mergeEnv(f.baseEnv(id), env)
	w.cmd.Stdout = logFile
	w.cmd.Stderr = logFile
	if err := w.cmd.Start(); err != nil {
		logFile.Close()
		f.t.Fatalf("start worker %s: %v", id, err)
	}
	go func() {
		_ = w.cmd.Wait()
		w.state = w.cmd.ProcessState
		logFile.Close()
		close(w.done)
	}()
	f.mu.Lock()
	f.workers = append(f.workers, w)
	f.mu.Unlock()
	return w
}

func mergeEnv(base, extra []string) []string {
	out := append([]string(nil), base...)
	for _, kv := range extra {
		name, _, _ := strings.Cut(kv, "=")
		replaced := false
		for i, old := range out {
			if strings.HasPrefix(old, name+"=") {
				out[i], replaced = kv, true
			}
		}
		if !replaced {
			out = append(out, kv)
		}
	}
	return out
}

func (w *workerProc) signal(sig syscall.Signal) { _ = w.cmd.Process.Signal(sig) }

func (w *workerProc) alive() bool {
	select {
	case <-w.done:
		return false
	default:
		return true
	}
}

// wait waits for the worker to exit and returns its exit code (-1 when a
// signal killed it); it fails the test after timeout.
func (w *workerProc) wait(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case <-w.done:
		return w.state.ExitCode()
	case <-time.After(timeout):
		t.Fatalf("worker %s still running after %s", w.id, timeout)
		return 0
	}
}

// stop ends a worker gracefully and checks it exits 0.
func (w *workerProc) stop(t *testing.T) {
	t.Helper()
	w.signal(syscall.SIGTERM)
	if code := w.wait(t, 30*time.Second); code != 0 {
		t.Errorf("worker %s exited %d after SIGTERM; log:\n%s", w.id, code, w.tail(40))
	}
}

func (f *fixture) stopAll() {
	f.mu.Lock()
	ws := f.workers
	f.mu.Unlock()
	for _, w := range ws {
		if w.alive() {
			w.signal(syscall.SIGKILL)
			<-w.done
		}
	}
}

// logs parses the worker's JSON log lines (others are skipped).
func (w *workerProc) logs() []map[string]any {
	b, _ := os.ReadFile(w.logPath)
	var out []map[string]any
	for _, line := range bytes.Split(b, []byte("\n")) {
		var m map[string]any
		if json.Unmarshal(line, &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

func (w *workerProc) raw() string {
	b, _ := os.ReadFile(w.logPath)
	return string(b)
}

func (w *workerProc) tail(n int) string {
	lines := strings.Split(strings.TrimRight(w.raw(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// logged reports whether a log line has msg and, for every key of attrs,
// that attribute value.
func (w *workerProc) logged(msg string, attrs map[string]any) bool {
	for _, m := range w.logs() {
		if m["msg"] != msg {
			continue
		}
		ok := true
		for k, v := range attrs {
			if m[k] != v {
				ok = false
			}
		}
		if ok {
			return true
		}
	}
	return false
}

func (w *workerProc) countLogged(msg string) int {
	n := 0
	for _, m := range w.logs() {
		if m["msg"] == msg {
			n++
		}
	}
	return n
}

// grepLogs returns the log lines of every worker that mention s.
func grepLogs(workers []*workerProc, s string) string {
	var b strings.Builder
	for _, w := range workers {
		for _, line := range strings.Split(w.raw(), "\n") {
			if strings.Contains(line, s) {
				b.WriteString(line)
				b.WriteByte('\n')
			}
		}
	}
	return b.String()
}

func itoa(i int) string { return strconv.Itoa(i) }
