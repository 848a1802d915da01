//go:build unix

package reliability

import (
	"io/fs"
	"maps"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ade-dev/ade-worker/gen/db"
)

// hostileCase is one run fed something broken or malicious.
type hostileCase struct {
	name string
	// queue sets the case up and queues its run; it returns the run's
	// workspace and id.
	queue func(f *fixture, cfg string) (ws, runID string)
	// status is the run's final status; errorHas a part of its
	// error_message (failed runs), lower-cased comparison.
	status, errorHas string
	// event must be in the run's events.ndjson; with noFolder the run has
	// no folder (its ids are unsafe) and the worker log must name it.
	event    string
	noFolder bool
	attempts int64 // the run's final attempt_count, when not 0
	check    func(t *testing.T, f *fixture, r db.Run)
}

// engineRun queues a run of a configuration whose engine behaves as mode
// says, with a ready environment.
func engineRun(mode string, maxAttempts int64) func(f *fixture, cfg string) (string, string) {
	return func(f *fixture, cfg string) (string, string) {
		f.configPackage(testWorkspace, cfg, mode)
		f.readyEnvironment(testWorkspace, cfg)
		return testWorkspace, f.queueRun(runSpec{cfg: cfg, maxAttempts: attempts(maxAttempts)})
	}
}

// optionsRun queues a run with the given run_options.
func optionsRun(options string) func(f *fixture, cfg string) (string, string) {
	return func(f *fixture, cfg string) (string, string) {
		f.configPackage(testWorkspace, cfg, "ok")
		f.readyEnvironment(testWorkspace, cfg)
		return testWorkspace, f.queueRun(runSpec{cfg: cfg, options: options})
	}
}

// documentRun queues a run whose document row has storedURI; prepare may
// put files in place first and returns the document id to use ("" for a
// fresh row).
func documentRun(storedURI func(f *fixture) string, maxAttempts int64) func(f *fixture, cfg string) (string, string) {
	return func(f *fixture, cfg string) (string, string) {
		f.configPackage(testWorkspace, cfg, "ok")
		f.readyEnvironment(testWorkspace, cfg)
		doc := f.document(testWorkspace, "members.csv", storedURI(f), nil)
		return testWorkspace, f.queueRun(runSpec{cfg: cfg, docID: doc, maxAttempts: attempts(maxAttempts)})
	}
}

// idRun queues a run whose workspace or configuration id is ws or cfg
// (empty means the usual), with a ready environment for that key.
func idRun(ws, cfg string) func(f *fixture, defaultCfg string) (string, string) {
	return func(f *fixture, defaultCfg string) (string, string) {
		if ws == "" {
			ws = testWorkspace
		}
		if cfg == "" {
			cfg = defaultCfg
		}
		f.readyEnvironment(ws, cfg)
		doc := f.document(ws, "members.csv", "file:x/members.csv", nil)
		return ws, f.queueRun(runSpec{ws: ws, cfg: cfg, docID: doc})
	}
}

// queued is a hostile case with its run.
type queued struct {
	hostileCase
	ws, id string
}

const outsideSecret = "TOP-SECRET-OUTSIDE-THE-DATA-FOLDER"

// TestHostileInput feeds one worker runs with broken and malicious input
// and engines that misbehave. Each run ends with a clear error_message (or
// succeeds, when the oddity is the engine's and its output is fine) and an
// event; the worker keeps running; and nothing is written outside the
// runs' folders.
func TestHostileInput(t *testing.T) {
	f := newFixture(t)
	outside := filepath.Join(f.root, "outside")
	if err := os.MkdirAll(outside, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(outside, "secret.csv"), []byte(outsideSecret+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	docsDir := filepath.Join(f.dataDir, "workspaces", testWorkspace, "documents")

	cases := []hostileCase{
		// run_options
		{name: "run_options not JSON", queue: optionsRun(`{"validate_only": tru`), status: "failed", errorHas: "invalid run options", event: "run.complete"},
		{name: "run_options wrong types", queue: optionsRun(`{"validate_only": "maybe", "max_findings_per_sheet": "many"}`), status: "failed", errorHas: "invalid run options", event: "run.complete"},
		{name: "run_options an array", queue: optionsRun(`[1, 2]`), status: "failed", errorHas: "invalid run options", event: "run.complete"},
		{name: "run_options engine args with NUL", queue: optionsRun(`{"engine_args": ["--x\u0000y"]}`), status: "failed", errorHas: "invalid run options", event: "run.complete"},

		// options that make a command line no system takes: refused before
		// the start, not retried
		{name: "engine_args of 300 KB", queue: optionsRun(`{"engine_args": ["--note=` + strings.Repeat("x", 300_000) + `"]}`),
			status: "failed", errorHas: "run options cannot be passed to the engine", event: "run.complete", attempts: 1},
		{name: "200,000 input sheets", queue: optionsRun(manySheets(200_000)),
			status: "failed", errorHas: "run options cannot be passed to the engine (200000 input sheets", event: "run.complete", attempts: 1},

		// documents
		{name: "unknown document", queue: func(f *fixture, cfg string) (string, string) {
			f.configPackage(testWorkspace, cfg, "ok")
			f.readyEnvironment(testWorkspace, cfg)
			return testWorkspace, f.queueRun(runSpec{cfg: cfg, docID: uuid.NewString()})
		}, status: "failed", errorHas: "not found", event: "run.complete"},
		{name: "missing document file", queue: documentRun(func(*fixture) string { return "file:gone/members.csv" }, 2),
			status: "failed", errorHas: "does not exist", event: "run.retry", attempts: 2},
		{name: "stored_uri dot-dot to /etc/passwd", queue: documentRun(func(*fixture) string { return "file:../../../etc/passwd" }, 3),
			status: "failed", errorHas: "outside the documents folder", event: "run.complete", attempts: 1},
		{name: "stored_uri deep dot-dot", queue: documentRun(func(*fixture) string { return "file:a/../../../../../../../../etc/passwd" }, 3),
			status: "failed", errorHas: "outside the documents folder", event: "run.complete", attempts: 1},
		{name: "stored_uri absolute path", queue: documentRun(func(*fixture) string { return "/etc/passwd" }, 1),
			status: "failed", errorHas: "does not exist", event: "run.complete"},
		{name: "stored_uri file URL to an absolute path", queue: documentRun(func(*fixture) string { return "file:///etc/passwd" }, 1),
			status: "failed", errorHas: "does not exist", event: "run.complete"},
		{name: "stored_uri symlink to a file outside", queue: documentRun(func(f *fixture) string {
			dir := filepath.Join(docsDir, "linked")
			must(t, os.MkdirAll(dir, 0o755))
			must(t, os.Symlink(filepath.Join(outside, "secret.csv"), filepath.Join(dir, "members.csv")))
			return "file:linked/members.csv"
		}, 3), status: "failed", errorHas: "symlink", event: "run.complete", attempts: 1},
		{name: "stored_uri through a symlinked folder", queue: documentRun(func(f *fixture) string {
			must(t, os.MkdirAll(docsDir, 0o755))
			must(t, os.Symlink(outside, filepath.Join(docsDir, "escape")))
			return "file:escape/secret.csv"
		}, 3), status: "failed", errorHas: "symlink", event: "run.complete", attempts: 1},
		{name: "stored_uri with NUL", queue: documentRun(func(*fixture) string { return "file:x\x00/../../../../etc/passwd" }, 3),
			status: "failed", errorHas: "nul", event: "run.complete", attempts: 1},
		{name: "stored_uri other scheme", queue: documentRun(func(*fixture) string { return "https://example.com/members.csv" }, 3),
			status: "failed", errorHas: "scheme", event: "run.complete", attempts: 1},

		// documents that are not regular files: opening a FIFO would wait
		// for a writer for ever
		{name: "stored_uri names a FIFO", queue: documentRun(func(f *fixture) string {
			must(t, os.MkdirAll(filepath.Join(docsDir, "special"), 0o755))
			must(t, syscall.Mkfifo(filepath.Join(docsDir, "special", "fifo.csv"), 0o644))
			return "file:special/fifo.csv"
		}, 3), status: "failed", errorHas: "names a FIFO (named pipe), not a regular file", event: "run.complete", attempts: 1},
		{name: "stored_uri names a socket", queue: documentRun(func(f *fixture) string {
			must(t, os.MkdirAll(filepath.Join(docsDir, "special"), 0o755))
			l, err := net.Listen("unix", filepath.Join(docsDir, "special", "sock.csv"))
			must(t, err)
			t.Cleanup(func() { l.Close() })
			return "file:special/sock.csv"
		}, 3), status: "failed", errorHas: "names a socket, not a regular file", event: "run.complete", attempts: 1},
		{name: "stored_uri names a folder", queue: documentRun(func(f *fixture) string {
			must(t, os.MkdirAll(filepath.Join(docsDir, "special", "folder.csv"), 0o755))
			return "file:special/folder.csv"
		}, 3), status: "failed", errorHas: "names a folder, not a regular file", event: "run.complete", attempts: 1},

		// ids
		{name: "workspace id with slash", queue: idRun("ws/evil", ""), status: "failed", errorHas: "workspace id", noFolder: true},
		{name: "workspace id dot-dot", queue: idRun("..", ""), status: "failed", errorHas: "workspace id", noFolder: true},
		{name: "workspace id with NUL", queue: idRun("ws\x00evil", ""), status: "failed", errorHas: "workspace id", noFolder: true},
		{name: "configuration id with slash", queue: idRun("", "cfg/../../evil"), status: "failed", errorHas: "configuration id", event: "run.complete"},
		{name: "configuration id dot-dot", queue: idRun("", ".."), status: "failed", errorHas: "configuration id", event: "run.complete"},
		{name: "configuration id with NUL", queue: idRun("", "cfg\x00evil"), status: "failed", errorHas: "configuration id", event: "run.complete"},
		{name: "configuration id dot-dot needing a build", queue: func(f *fixture, cfg string) (string, string) {
			return testWorkspace, f.queueRun(runSpec{cfg: "..", engineSpec: "ade-engine==0.0.0"})
		}, status: "failed", errorHas: "environment build failed", event: "run.complete"},
		{name: "missing configuration package", queue: func(f *fixture, cfg string) (string, string) {
			f.readyEnvironment(testWorkspace, cfg)
			return testWorkspace, f.queueRun(runSpec{cfg: cfg})
		}, status: "failed", errorHas: "configuration package missing", event: "run.complete"},

		// engines
		{name: "engine exits non-zero", queue: engineRun("exit 3", 2), status: "failed", errorHas: "exited with code 3: the engine failed: boom",
			event: "run.retry", attempts: 2, check: exitCode(3)},
		{name: "engine killed by a signal", queue: engineRun("signal", 1), status: "failed", errorHas: "killed by sigkill", event: "run.complete", check: exitCode(137)},
		{name: "engine hangs", queue: engineRun("hang", 1), status: "failed", errorHas: "timed out", event: "run.complete", check: exitCode(124)},
		{name: "engine prints one 50 MB line", queue: engineRun("hugeline", 1), status: "succeeded", event: "run.stdout", check: func(t *testing.T, f *fixture, r db.Run) {
			truncated := false
			for _, e := range f.runEvents(testWorkspace, r.ID) {
				if d, _ := e["data"].(map[string]any); e["event"] == "run.stdout" && d["truncated"] == true {
					truncated = true
				}
			}
			if !truncated {
				t.Error("no truncated run.stdout record")
			}
			if st, err := os.Stat(filepath.Join(f.dataDir, "workspaces", testWorkspace, "runs", r.ID, "logs", "events.ndjson")); err != nil || st.Size() > 4<<20 {
				t.Errorf("events.ndjson: %v, %d bytes", err, st.Size())
			}
		}},
		{name: "engine prints invalid JSON", queue: engineRun("badjson", 1), status: "succeeded", event: "run.summary_missing", check: noResults},
		{name: "engine.run.completed with wrong types", queue: engineRun("wrongtypes", 1), status: "succeeded", event: "engine.run.completed", check: func(t *testing.T, f *fixture, r db.Run) {
			noResults(t, f, r)
			if r.OutputPath.String != "output/normalized.csv" {
				t.Errorf("output_path %q", r.OutputPath.String)
			}
		}},
		{name: "engine.run.completed with negative counts", queue: engineRun("negative", 1), status: "succeeded", event: "engine.run.completed", check: func(t *testing.T, f *fixture, r db.Run) {
			m, err := f.q.GetRunMetrics(f.ctx(), r.ID)
			if err != nil {
				t.Fatal(err)
			}
			if m.WorkbookCount.Valid || m.SheetCount.Valid || m.RowCountTotal.Valid || m.RowCountEmpty.Valid || m.TableCount.Int64 != 2 {
				t.Errorf("negative counts stored, or the valid one lost: %+v", m)
			}
		}},
		// About 4.5 MB on one line: beyond the plain line limit (1 MiB), but
		// a summary is kept whole up to 64 MiB.
		{name: "engine.run.completed with 100k columns", queue: engineRun("wide 100000", 1), status: "succeeded", event: "engine.run.completed", check: func(t *testing.T, f *fixture, r db.Run) {
			cols, err := f.q.ListRunTableColumns(f.ctx(), r.ID)
			if err != nil || len(cols) != 100000 {
				t.Errorf("run_table_columns: %d rows, %v; want 100000", len(cols), err)
			}
			if hasEvent(f.runEvents(testWorkspace, r.ID), "run.summary_missing") {
				t.Error("run.summary_missing for a summary that arrived")
			}
		}},
		{name: "detected spelled as strings and numbers", queue: engineRun("lenient", 1), status: "succeeded", event: "engine.run.completed", check: func(t *testing.T, f *fixture, r db.Run) {
			fields, err := f.q.ListRunFields(f.ctx(), r.ID)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]bool{}
			for _, fl := range fields {
				got[fl.Field] = fl.Detected
			}
			want := map[string]bool{"f0": false, "f1": true, "f2": true, "f3": false, "f4": true, "f5": false, "f6": false}
			if !maps.Equal(got, want) {
				t.Errorf("run_fields detected = %v, want %v (f7, \"maybe\", skipped)", got, want)
			}
		}},
		{name: "engine.run.completed deeply nested", queue: engineRun("deep 100000", 1), status: "succeeded", event: "run.summary_missing", check: noResults},
		{name: "outputs.normalized.path absolute outside", queue: engineRun("outside /etc/passwd", 1), status: "succeeded", event: "run.output_path_rejected", check: outputInside},
		{name: "outputs.normalized.path dot-dot outside", queue: engineRun("outside ../../../../../etc/passwd", 1), status: "succeeded", event: "run.output_path_rejected", check: outputInside},
		{name: "outputs.normalized.path the run folder", queue: engineRun("outside .", 1), status: "succeeded", event: "run.output_path_rejected", check: outputInside},

		// attempts and builds
		{name: "max_attempts 0", queue: func(f *fixture, cfg string) (string, string) {
			f.configPackage(testWorkspace, cfg, "ok")
			f.readyEnvironment(testWorkspace, cfg)
			return testWorkspace, f.queueRun(runSpec{cfg: cfg, maxAttempts: attempts(0)})
		}, status: "failed", errorHas: "max_attempts is 0", event: "run.complete"},
		{name: "max_attempts negative", queue: func(f *fixture, cfg string) (string, string) {
			f.configPackage(testWorkspace, cfg, "ok")
			f.readyEnvironment(testWorkspace, cfg)
			return testWorkspace, f.queueRun(runSpec{cfg: cfg, maxAttempts: attempts(-1)})
		}, status: "failed", errorHas: "max_attempts is -1", event: "run.complete"},
		{name: "pip fails during the build", queue: func(f *fixture, cfg string) (string, string) {
			f.configPackage(testWorkspace, cfg, "ok")
			return testWorkspace, f.queueRun(runSpec{cfg: cfg, engineSpec: "ade-engine-broken==1"})
		}, status: "failed", errorHas: "no matching distribution found for ade-engine-broken", event: "run.complete"},
	}

	if os.Geteuid() == 0 {
		// Making a device node takes root; elsewhere the FIFO and socket
		// cases stand for it.
		cases = append(cases, hostileCase{name: "stored_uri names a device", queue: documentRun(func(f *fixture) string {
			must(t, os.MkdirAll(filepath.Join(docsDir, "special"), 0o755))
			must(t, syscall.Mknod(filepath.Join(docsDir, "special", "null.csv"), syscall.S_IFCHR|0o666, 1<<8|3))
			return "file:special/null.csv"
		}, 3), status: "failed", errorHas: "names a device, not a regular file", event: "run.complete", attempts: 1})
	} else {
		t.Log("not root: no device node case")
	}

	var runs []queued
	for i, c := range cases {
		ws, id := c.queue(f, "cfg-hostile-"+itoa(i))
		runs = append(runs, queued{c, ws, id})
	}
	before := snapshot(t, f.root)

	w := f.startWorker("target", "ADE_WORKER_RUN_TIMEOUT_SECONDS=3", "ADE_WORKER_ENV_BUILD_MAX_ATTEMPTS=1",
		"ADE_WORKER_CONCURRENCY=4", "ADE_WORKER_LEASE_SECONDS=10")
	ids := make([]string, len(runs))
	for i, r := range runs {
		ids[i] = r.id
	}
	f.waitTerminal(2*time.Minute, ids...)
	if !w.alive() {
		t.Fatalf("worker died:\n%s", w.tail(40))
	}

	for _, q := range runs {
		t.Run(q.name, func(t *testing.T) {
			r := f.run(q.id)
			msg := r.ErrorMessage.String
			if r.Status != q.status {
				t.Fatalf("status %s, want %s; error %q", r.Status, q.status, msg)
			}
			if q.status == "failed" && !strings.Contains(strings.ToLower(msg), strings.ToLower(q.errorHas)) {
				t.Errorf("error_message %q does not say %q", msg, q.errorHas)
			}
			if q.status == "succeeded" && msg != "" {
				t.Errorf("succeeded with error_message %q", msg)
			}
			if strings.ContainsRune(msg, 0) {
				t.Errorf("error_message holds a NUL byte: %q", msg)
			}
			if q.attempts != 0 && r.AttemptCount != q.attempts {
				t.Errorf("attempt_count %d, want %d", r.AttemptCount, q.attempts)
			}
			if q.noFolder {
				if !w.logged("run failed", map[string]any{"run_id": q.id}) {
					t.Errorf("worker log has no \"run failed\" line for the run")
				}
			} else {
				events := f.runEvents(q.ws, q.id)
				if q.event != "" && !hasEvent(events, q.event) {
					t.Errorf("no %s event in %d events", q.event, len(events))
				}
				if q.status == "failed" && !hasEvent(events, "run.complete") {
					t.Errorf("no run.complete event")
				}
			}
			if q.check != nil {
				q.check(t, f, r)
			}
			if msg != "" {
				t.Logf("%s: %.300s", r.Status, msg)
			} else {
				t.Logf("%s, with a %s event", r.Status, q.event)
			}
		})
	}
	if !w.alive() {
		t.Fatalf("worker died:\n%s", w.tail(40))
	}
	w.stop(t)
	checkWrites(t, f, before, runs)
}

// manySheets is run_options naming n input sheets.
func manySheets(n int) string {
	var b strings.Builder
	b.WriteString(`{"input_sheet_names": [`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"Sheet ` + itoa(i) + `"`)
	}
	b.WriteString(`]}`)
	return b.String()
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func exitCode(want int64) func(*testing.T, *fixture, db.Run) {
	return func(t *testing.T, _ *fixture, r db.Run) {
		if !r.ExitCode.Valid || r.ExitCode.Int64 != want {
			t.Errorf("exit_code %v, want %d", r.ExitCode, want)
		}
	}
}

func noResults(t *testing.T, f *fixture, r db.Run) {
	t.Helper()
	if _, err := f.q.GetRunMetrics(f.ctx(), r.ID); err == nil {
		t.Error("run_metrics written from a summary that was not there")
	}
	if cols, err := f.q.ListRunTableColumns(f.ctx(), r.ID); err != nil || len(cols) > 0 {
		t.Errorf("run_table_columns: %d rows, %v", len(cols), err)
	}
}

func outputInside(t *testing.T, f *fixture, r db.Run) {
	t.Helper()
	if r.OutputPath.String != "output/normalized.csv" {
		t.Errorf("output_path %q, want the file the engine wrote inside the run folder", r.OutputPath.String)
	}
}

// snapshot lists every file and folder under root with its size and time.
func snapshot(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		out[p] = info.Mode().String() + " " + itoa(int(info.Size())) + " " + info.ModTime().String()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// checkWrites fails for every path created or changed under the test's
// root that is not a run's folder, an environment's folder, the database,
// a marker or a worker log.
func checkWrites(t *testing.T, f *fixture, before map[string]string, runs []queued) {
	t.Helper()
	allowed := []string{
		filepath.Dir(f.dbPath) + string(filepath.Separator),
		f.markers + string(filepath.Separator),
		filepath.Join(f.dataDir, "venvs") + string(filepath.Separator),
		filepath.Join(f.dataDir, "cache") + string(filepath.Separator),
		filepath.Join(f.root, "worker-"),
	}
	for _, r := range runs {
		if r.noFolder {
			continue
		}
		allowed = append(allowed, filepath.Join(f.dataDir, "workspaces", r.ws, "runs", r.id)+string(filepath.Separator))
	}
	parents := map[string]bool{f.root: true}
	for _, a := range allowed {
		for p := filepath.Clean(a); p != f.root && p != "/"; p = filepath.Dir(p) {
			parents[p] = true
		}
	}
	after := snapshot(t, f.root)
	for p, meta := range after {
		if before[p] == meta || parents[p] {
			continue
		}
		ok := false
		for _, a := range allowed {
			if strings.HasPrefix(p+string(filepath.Separator), a) || strings.HasPrefix(p, a) {
				ok = true
			}
		}
		if !ok {
			t.Errorf("written outside the runs' folders: %s", p)
		}
	}
	b, err := os.ReadFile(filepath.Join(f.root, "outside", "secret.csv"))
	if err != nil || string(b) != outsideSecret+"\n" {
		t.Errorf("the file outside was changed: %q, %v", b, err)
	}
	err = filepath.WalkDir(filepath.Join(f.dataDir, "workspaces"), func(p string, d fs.DirEntry, err error) error {
		// Only regular files are read: a FIFO among the documents would
		// make the read wait for a writer.
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		if b, err := os.ReadFile(p); err == nil && strings.Contains(string(b), outsideSecret) {
			t.Errorf("the secret outside the data folder was copied to %s", p)
		}
		if b, err := os.ReadFile(p); err == nil && strings.Contains(string(b), "root:x:0:0") {
			t.Errorf("/etc/passwd was copied to %s", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
