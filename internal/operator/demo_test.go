package operator_test

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ade-dev/ade-worker/internal/apptest"
	"github.com/ade-dev/ade-worker/internal/operator"
)

// demo runs app.Demo on the repository's examples with settings over a
// data folder of its own, and returns its error and what it printed.
func demo(t *testing.T, environ []string, settings ...string) (string, string, error) {
	t.Helper()
	dataDir := filepath.Join(t.TempDir(), "data")
	cfg, err := loadConfig(append(baseSettings(dataDir), settings...))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	logs := &logBuffer{}
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	_, err = operator.Demo(ctx, cfg, filepath.Join(repoRoot, "examples"), environ, &out, logs.Logger())
	if t.Failed() {
		t.Logf("worker log:\n%s", logs.String())
	}
	return dataDir, out.String(), err
}

// A machine that cannot build a virtual environment gets one line naming
// what is missing, before the demo creates anything.
func TestDemoSaysWhichPieceIsMissing(t *testing.T) {
	t.Parallel()
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not on PATH")
	}
	// A real interpreter whose ensurepip cannot be imported, as on Debian
	// without python3-venv.
	shadow := t.TempDir()
	if err := os.MkdirAll(filepath.Join(shadow, "ensurepip"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(shadow, "ensurepip", "__init__.py"), []byte("raise ImportError('No module named ensurepip')\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name     string
		environ  []string
		settings []string
		want     []string
	}{
		{"no python", apptest.SubprocessEnviron(), []string{"ADE_WORKER_PYTHON=" + filepath.Join(shadow, "python3-not-here")},
			[]string{"no Python", "python3-not-here", "ADE_WORKER_PYTHON"}},
		{"no venv", append(apptest.SubprocessEnviron(), "PYTHONPATH="+shadow), []string{"ADE_WORKER_PYTHON=" + python},
			[]string{"no venv", python, "python3-venv"}},
	} {
		dataDir, out, err := demo(t, c.environ, c.settings...)
		if err == nil {
			t.Errorf("%s: the demo succeeded:\n%s", c.name, out)
			continue
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: more than one line: %q", c.name, err)
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q does not say %q", c.name, err, w)
			}
		}
		if _, statErr := os.Stat(dataDir); !os.IsNotExist(statErr) {
			t.Errorf("%s: the demo created %s before it found out: %v", c.name, dataDir, statErr)
		}
	}
}

// An engine that needs a package index the machine cannot reach fails the
// demo after one build, with one line that says so.
func TestDemoStopsAfterTheFirstFailedBuild(t *testing.T) {
	t.Parallel()
	if err := exec.Command("python3", "-c", "import venv, ensurepip").Run(); err != nil {
		t.Skip("python3 with venv is needed to build a virtual environment")
	}
	engine := t.TempDir()
	pyproject := "[build-system]\nrequires = [\"setuptools>=64\"]\nbuild-backend = \"setuptools.build_meta\"\n\n" +
		"[project]\nname = \"ade-engine\"\nversion = \"0.0.1\"\n"
	if err := os.WriteFile(filepath.Join(engine, "pyproject.toml"), []byte(pyproject), 0o644); err != nil {
		t.Fatal(err)
	}
	// An index nothing listens on, tried once: pip fails at once, as it
	// does (after its retries) where no index can be reached.
	var environ []string
	for _, kv := range apptest.SubprocessEnviron() {
		if !strings.HasPrefix(kv, "PIP_") {
			environ = append(environ, kv)
		}
	}
	environ = append(environ, "PIP_INDEX_URL=http://127.0.0.1:"+closedPort(t)+"/simple", "PIP_RETRIES=0", "PIP_TIMEOUT=5")
	dataDir, out, err := demo(t, environ, "ADE_ENGINE_PACKAGE_PATH="+engine, "ADE_WORKER_ENV_BUILD_MAX_ATTEMPTS=3")
	if err == nil || strings.Contains(err.Error(), "\n") ||
		!strings.Contains(err.Error(), "pip cannot reach a package index for setuptools>=64 (needed to build "+engine+")") {
		t.Fatalf("err = %v; want one line naming the unreachable index and setuptools\n%s", err, out)
	}
	if strings.Contains(out, "INPUT") {
		t.Errorf("the demo printed its table of failed runs:\n%s", out)
	}
	logs, _ := filepath.Glob(filepath.Join(dataDir, "demo", "venvs", "*", "*", "*", "*", "logs", "events.ndjson"))
	if len(logs) != 1 || !strings.Contains(err.Error(), "(build log: "+logs[0]+")") {
		t.Fatalf("build logs %v; error %v", logs, err)
	}
	b, readErr := os.ReadFile(logs[0])
	if readErr != nil {
		t.Fatal(readErr)
	}
	if n := strings.Count(string(b), `"event":"environment.start"`); n != 1 {
		t.Errorf("the environment was built %d times; the demo tries once", n)
	}
}

// closedPort is a loopback port nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}
