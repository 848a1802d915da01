package envbuild

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ade-dev/ade-worker/internal/engine"
	"github.com/ade-dev/ade-worker/internal/eventlog"
	"github.com/ade-dev/ade-worker/internal/paths"
)

// wheelDir holds the setuptools and wheel wheels Debian packages
// (python3-setuptools-whl, python3-wheel-whl). The tests build offline:
// pip finds the build backend there and nowhere else.
const wheelDir = "/usr/share/python-wheels"

// offlineEnv is the environment of every test build: no index, only the
// local wheels.
func offlineEnv() []string {
	return append(os.Environ(), "PIP_NO_INDEX=1", "PIP_FIND_LINKS="+wheelDir)
}

func requireWheels(t *testing.T) {
	t.Helper()
	// setuptools asks for wheel to build an editable wheel, so both are needed.
	for _, name := range []string{"setuptools", "wheel"} {
		if matches, _ := filepath.Glob(filepath.Join(wheelDir, name+"-*.whl")); len(matches) == 0 {
			t.Skipf("no %s wheel in %s: these tests build setuptools packages offline; install python3-setuptools-whl and python3-wheel-whl", name, wheelDir)
		}
	}
	if _, err := exec.LookPath(DefaultPython); err != nil {
		t.Skipf("%s is not available: %v", DefaultPython, err)
	}
}

// writeProject writes a minimal setuptools project with one package.
func writeProject(t *testing.T, dir, dist, pkg, init string) {
	t.Helper()
	pyproject := fmt.Sprintf(`[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = %q
version = "0.0.1"

[tool.setuptools]
packages = [%q]
`, dist, pkg)
	if err := os.MkdirAll(filepath.Join(dir, pkg), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "pyproject.toml"), []byte(pyproject), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, pkg, "__init__.py"), []byte(init), 0o644); err != nil {
		t.Fatal(err)
	}
}

// fixture is a stand-in engine and configuration package, with a folder for
// the environment and its log.
type fixture struct {
	engineDir, configDir, envDir, logPath string
	log                                   *eventlog.Log
}

func newFixture(t *testing.T, root string) *fixture {
	t.Helper()
	f := &fixture{
		engineDir: filepath.Join(root, "ade-engine"),
		configDir: filepath.Join(root, "config"),
		envDir:    filepath.Join(root, "venvs", "ws", "cfg", "deps-abc", "env-1"),
	}
	writeProject(t, f.engineDir, "ade-engine", "ade_engine", "__version__ = \"0.0-test\"\n")
	writeProject(t, f.configDir, "ade-config-test", "ade_config", "NAME = \"test config\"\n")
	f.logPath = filepath.Join(f.envDir, "logs", "events.ndjson")
	var err error
	f.log, err = eventlog.Open(f.logPath, map[string]string{"environment_id": "env-1"})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) spec() Spec {
	return Spec{
		EnvDir:           f.envDir,
		EngineSpec:       f.engineDir,
		ConfigPackageDir: f.configDir,
		PipCacheDir:      filepath.Join(filepath.Dir(f.envDir), "cache", "pip"),
		BaseEnv:          offlineEnv(),
		Timeout:          5 * time.Minute,
		Log:              f.log,
	}
}

func (f *fixture) records(t *testing.T) []map[string]any {
	t.Helper()
	if err := f.log.Flush(); err != nil {
		t.Fatal(err)
	}
	file, err := os.Open(f.logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	var out []map[string]any
	sc := bufio.NewScanner(file)
	sc.Buffer(nil, 4<<20)
	for sc.Scan() {
		var r map[string]any
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("log line is not JSON: %v: %q", err, sc.Bytes())
		}
		if ctx, _ := r["context"].(map[string]any); ctx["environment_id"] != "env-1" {
			t.Fatalf("log line without the environment's context: %v", r)
		}
		out = append(out, r)
	}
	return out
}

func countEvents(recs []map[string]any) map[string]int {
	n := map[string]int{}
	for _, r := range recs {
		n[r["event"].(string)]++
	}
	return n
}

// shared is one successful build that several tests inspect, since each
// build costs seconds.
var shared struct {
	once sync.Once
	dir  string
	f    *fixture
	spec Spec
	info Info
	err  error
	took time.Duration
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.dir != "" {
		shared.f.log.Close()
		os.RemoveAll(shared.dir)
	}
	os.Exit(code)
}

// sharedBuild builds the shared environment once. The engine is given by a
// relative path, and a stale .venv with a marker is left where the venv
// goes, so the one build also covers path resolution and the clean start.
func sharedBuild(t *testing.T) (*fixture, Spec, Info) {
	t.Helper()
	requireWheels(t)
	shared.once.Do(func() {
		dir, err := os.MkdirTemp("", "envbuild-test-")
		if err != nil {
			shared.err = err
			return
		}
		shared.dir = dir
		shared.f = newFixture(t, dir)
		shared.spec = shared.f.spec()
		wd, _ := os.Getwd()
		if rel, err := filepath.Rel(wd, shared.f.engineDir); err == nil {
			shared.spec.EngineSpec = rel
		}
		stale := filepath.Dir(paths.VenvPython(filepath.Join(shared.f.envDir, ".venv")))
		os.MkdirAll(stale, 0o755)
		os.WriteFile(filepath.Join(stale, "stale-marker"), nil, 0o644)
		start := time.Now()
		shared.info, shared.err = Build(context.Background(), shared.spec)
		shared.took = time.Since(start)
	})
	if shared.err != nil {
		t.Fatalf("shared build: %v", shared.err)
	}
	return shared.f, shared.spec, shared.info
}

func TestBuild(t *testing.T) {
	t.Parallel()
	f, _, info := sharedBuild(t)
	t.Logf("build took %v", shared.took)
	wantInterp := paths.VenvPython(filepath.Join(f.envDir, ".venv"))
	if info.Interpreter != wantInterp || info.EngineVersion != "0.0-test" || !regexp.MustCompile(`^3\.\d+\.\d+`).MatchString(info.PythonVersion) {
		t.Errorf("Info = %+v; want interpreter %s, engine 0.0-test, a Python 3 version", info, wantInterp)
	}
	if err := Usable(info.Interpreter); err != nil {
		t.Errorf("Usable: %v", err)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(wantInterp), "stale-marker")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale venv content survived the build: %v", err)
	}
	// The venv serves both packages, the engine editable from its folder.
	out, err := exec.Command(info.Interpreter, "-c", "import ade_engine, ade_config; print(ade_engine.__file__, ade_config.NAME)").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), filepath.Join(f.engineDir, "ade_engine")) || !strings.Contains(string(out), "test config") {
		t.Errorf("venv imports: %v: %s", err, out)
	}
	// python --version agrees with what was recorded.
	out, err = exec.Command(info.Interpreter, "--version").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "Python "+info.PythonVersion {
		t.Errorf("python --version = %q, %v; recorded %q", out, err, info.PythonVersion)
	}

	recs := f.records(t)
	n := countEvents(recs)
	if n["environment.step.start"] != 4 || n["environment.step.complete"] != 4 || n["environment.probe"] != 1 {
		t.Errorf("events = %v", n)
	}
	if n["environment.stdout"] == 0 {
		t.Errorf("pip's output did not reach the log: %v", n)
	}
	for _, r := range recs {
		if r["event"] == "environment.step.complete" && r["level"] != "info" {
			t.Errorf("step failed in a good build: %v", r)
		}
	}
}

func TestBuildFailsOnBrokenConfigPackage(t *testing.T) {
	requireWheels(t)
	t.Parallel()
	f := newFixture(t, t.TempDir())
	defer f.log.Close()
	if err := os.WriteFile(filepath.Join(f.configDir, "pyproject.toml"), []byte("[project\nname = \n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Build(context.Background(), f.spec())
	if err == nil {
		t.Fatal("build with a broken config package succeeded")
	}
	msg := err.Error()
	t.Logf("error: %s", msg)
	if !strings.HasPrefix(msg, "pip install -e "+f.configDir+": exit status ") {
		t.Errorf("error does not name the failing step: %s", msg)
	}
	if len(msg) > maxErrorOutput+200 || strings.Contains(msg, `File "`) {
		t.Errorf("error should be short and free of traceback frames (%d bytes): %s", len(msg), msg)
	}
	recs := f.records(t)
	quoted := false
	for _, r := range recs {
		if line, _ := r["message"].(string); r["event"] == "environment.stderr" && strings.TrimSpace(line) != "" && strings.Contains(msg, strings.TrimSpace(line)) {
			quoted = true
		}
	}
	if !quoted {
		t.Errorf("error quotes none of pip's stderr: %s", msg)
	}
	n := countEvents(recs)
	if n["environment.stderr"] == 0 || n["environment.step.complete"] != 3 {
		t.Errorf("events = %v", n)
	}
}

func TestBuildFailsOnMissingRequirement(t *testing.T) {
	requireWheels(t)
	t.Parallel()
	f := newFixture(t, t.TempDir())
	defer f.log.Close()
	s := f.spec()
	s.EngineSpec = "ade-engine-not-published==9.9.9"
	_, err := Build(context.Background(), s)
	if err == nil {
		t.Fatal("build with an unknown requirement succeeded")
	}
	t.Logf("error: %s", err)
	if !strings.HasPrefix(err.Error(), "pip install ade-engine-not-published==9.9.9: exit status 1: ") ||
		!strings.Contains(err.Error(), "No matching distribution found for ade-engine-not-published==9.9.9") {
		t.Errorf("error = %v", err)
	}
	var failed []string
	for _, r := range f.records(t) {
		if r["event"] == "environment.step.complete" && r["level"] == "error" {
			failed = append(failed, r["message"].(string))
		}
	}
	if len(failed) != 1 || failed[0] != err.Error() {
		t.Errorf("failed step records = %q", failed)
	}
}

func TestBuildTimeoutAndCancel(t *testing.T) {
	requireWheels(t)
	t.Parallel()
	t.Run("timeout", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, t.TempDir())
		defer f.log.Close()
		s := f.spec()
		s.Timeout = 300 * time.Millisecond
		start := time.Now()
		_, err := Build(context.Background(), s)
		took := time.Since(start)
		if !errors.Is(err, ErrTimeout) || !strings.HasPrefix(err.Error(), "python -m venv ") {
			t.Fatalf("err = %v; want the venv step to time out", err)
		}
		if took > 5*time.Second {
			t.Errorf("a 300ms build timeout returned after %v", took)
		}
	})
	t.Run("cancel", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, t.TempDir())
		defer f.log.Close()
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(300*time.Millisecond, cancel)
		_, err := Build(ctx, f.spec())
		if !errors.Is(err, context.Canceled) || errors.Is(err, ErrTimeout) {
			t.Fatalf("err = %v; want canceled, not timed out", err)
		}
	})
}

func TestBuildRejectsBadSpecs(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	engineDir := filepath.Join(root, "engine")
	writeProject(t, engineDir, "ade-engine", "ade_engine", "")
	configDir := filepath.Join(root, "config")
	writeProject(t, configDir, "cfg", "cfg", "")
	emptyDir := filepath.Join(root, "empty")
	os.MkdirAll(emptyDir, 0o755)
	envDir := filepath.Join(root, "env")
	good := Spec{EnvDir: envDir, EngineSpec: engineDir, ConfigPackageDir: configDir, Python: "ade-no-such-python"}

	for _, tc := range []struct {
		name string
		edit func(*Spec)
		want string
	}{
		{"missing config", func(s *Spec) { s.ConfigPackageDir = filepath.Join(root, "nope") }, "config package folder " + filepath.Join(root, "nope") + " does not exist"},
		{"config not a project", func(s *Spec) { s.ConfigPackageDir = emptyDir }, "has no pyproject.toml"},
		{"no config", func(s *Spec) { s.ConfigPackageDir = "" }, "no config package folder given"},
		{"missing engine path", func(s *Spec) { s.EngineSpec = "./apps/ade-engine-gone" }, "engine package folder ./apps/ade-engine-gone"},
		{"missing relative engine path", func(s *Spec) { s.EngineSpec = "apps/ade-engine-gone" }, "does not exist"},
		{"no engine", func(s *Spec) { s.EngineSpec = "" }, "no engine spec given"},
		{"no env folder", func(s *Spec) { s.EnvDir = "" }, "no environment folder given"},
		{"venv outside env folder", func(s *Spec) { s.Venv = root }, "is not inside environment folder"},
		{"venv is env folder", func(s *Spec) { s.Venv = envDir }, "is not inside environment folder"},
	} {
		s := good
		tc.edit(&s)
		_, err := Build(context.Background(), s)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v; want it to contain %q", tc.name, err, tc.want)
		}
	}
	if _, err := os.Stat(envDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a rejected spec touched the environment folder: %v", err)
	}

	// A valid spec whose Python cannot start fails at the first step.
	_, err := Build(context.Background(), good)
	if err == nil || !strings.HasPrefix(err.Error(), "python -m venv ") || !strings.Contains(err.Error(), "ade-no-such-python") {
		t.Errorf("err = %v; want the venv step to fail to start", err)
	}
}

// TestStepEnvironment checks what the steps' environment holds: pip's
// settings from the contract, the operator's PIP_* settings, and none of the
// worker's secrets.
func TestStepEnvironment(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	writeProject(t, filepath.Join(root, "config"), "cfg", "cfg", "")
	b, err := newBuilder(Spec{
		EnvDir:           filepath.Join(root, "env"),
		EngineSpec:       "ade-engine==1.0",
		ConfigPackageDir: filepath.Join(root, "config"),
		PipCacheDir:      filepath.Join(root, "cache", "pip"),
		BaseEnv: []string{
			"PATH=/usr/bin", "ADE_DATABASE_URL=sqlite:///x.db", "ADE_DATABASE_PASSWORD=pw",
			"PIP_INDEX_URL=https://pypi.internal/simple", "PIP_PROGRESS_BAR=on", "SERVICE_TOKEN=t",
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(b.env, "\n")
	for _, want := range []string{
		"PATH=/usr/bin", "PIP_INDEX_URL=https://pypi.internal/simple", "PYTHONUNBUFFERED=1",
		"PIP_DISABLE_PIP_VERSION_CHECK=1", "PIP_NO_INPUT=1", "PIP_PROGRESS_BAR=off",
		"PIP_CACHE_DIR=" + filepath.Join(root, "cache", "pip"),
	} {
		if !strings.Contains("\n"+got+"\n", "\n"+want+"\n") {
			t.Errorf("step environment lacks %s:\n%s", want, got)
		}
	}
	for _, absent := range []string{"ADE_DATABASE", "SERVICE_TOKEN", "PIP_PROGRESS_BAR=on"} {
		if strings.Contains(got, absent) {
			t.Errorf("step environment holds %s:\n%s", absent, got)
		}
	}
}

func TestLooksLikePath(t *testing.T) {
	t.Parallel()
	for spec, want := range map[string]bool{
		"apps/ade-engine":                    true,
		"./ade-engine":                       true,
		"/opt/ade-engine":                    true,
		"../engine":                          true,
		"ade-engine":                         false,
		"ade-engine==1.2.0":                  false,
		"ade-engine>=1,<2":                   false,
		"ade-engine @ https://host/x.whl":    false,
		"git+https://host/ade/engine.git@v1": false,
	} {
		if got := looksLikePath(spec); got != want {
			t.Errorf("looksLikePath(%q) = %v, want %v", spec, got, want)
		}
	}
}

func TestDescribeFailure(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", 3000)
	traceback := []string{
		"Traceback (most recent call last):",
		`  File "/x/pip/_internal/cli/base_command.py", line 180, in exc_logging_wrapper`,
		"    status = run_func(*args)",
		`  File "/x/pip/_vendor/tomli/_parser.py", line 298, in create_dict_rule`,
		"pip._vendor.tomli.TOMLDecodeError: Expected ']' at the end of a table declaration (at line 1, column 9)",
	}
	backend := []string{
		"  error: subprocess-exited-with-error",
		"  × Getting requirements to build editable did not run successfully.",
		"  │ exit code: 1",
		"  ╰─> [3 lines of output]",
		"      ValueError: bad config",
		"      [end of output]",
		"  note: This error originates from a subprocess, and is likely not a problem with pip.",
		"error: subprocess-exited-with-error",
		"× Getting requirements to build editable did not run successfully.",
		"note: This error originates from a subprocess, and is likely not a problem with pip.",
	}
	cases := []struct {
		tail []string
		want string
	}{
		{nil, "exit status 2"},
		{[]string{"", "some output", "  last words  "}, "exit status 2: some output\nlast words"},
		{[]string{"Collecting x", "ERROR: one", "more", "ERROR: two"}, "exit status 2: ERROR: one\nERROR: two"},
		{traceback, "exit status 2: " + traceback[4]},
		{backend, "exit status 2: error: subprocess-exited-with-error\n× Getting requirements to build editable did not run successfully.\n" +
			"ValueError: bad config\nnote: This error originates from a subprocess, and is likely not a problem with pip."},
		{[]string{"early", long}, "exit status 2: …" + long[len(long)-maxErrorOutput:]},
	}
	for _, tc := range cases {
		got := describeFailure(resultWith(2, tc.tail))
		if got != tc.want {
			t.Errorf("describeFailure(%.40q)\n got %.300q\nwant %.300q", tc.tail, got, tc.want)
		}
	}
	many := make([]string, 20)
	for i := range many {
		many[i] = fmt.Sprintf("%03d %s", i, strings.Repeat("x", 200))
	}
	got := describeFailure(resultWith(1, many))
	if len(got) > maxErrorOutput+40 || !strings.HasSuffix(got, many[19]) || strings.Contains(got, many[0]) {
		t.Errorf("bounded tail of %d bytes: %.100q", len(got), got)
	}
	if got := describeFailure(engine.Result{ExitCode: 137, Signal: "SIGKILL"}); got != "killed by SIGKILL" {
		t.Errorf("signal: %q", got)
	}
}

func resultWith(code int, tail []string) engine.Result {
	return engine.Result{ExitCode: code, Tail: tail}
}

// TestProbeFailsWithoutEngine runs the last step in a bare venv (created
// without pip, which is quick) where ade_engine is missing.
func TestProbeFailsWithoutEngine(t *testing.T) {
	requireWheels(t)
	t.Parallel()
	f := newFixture(t, t.TempDir())
	defer f.log.Close()
	b, err := newBuilder(f.spec())
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(DefaultPython, "-m", "venv", "--without-pip", b.venv).CombinedOutput(); err != nil {
		t.Fatalf("create bare venv: %v: %s", err, out)
	}
	steps := b.steps()
	_, err = b.run(context.Background(), steps[len(steps)-1])
	if err == nil || err.Error() != "import ade_engine: exit status 1: ModuleNotFoundError: No module named 'ade_engine'" {
		t.Fatalf("err = %v", err)
	}
}
