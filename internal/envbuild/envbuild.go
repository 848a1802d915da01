// Package envbuild builds the Python virtual environment of one
// configuration: a fresh venv, the engine, then the configuration package,
// each step a subprocess whose output goes to the environment's event log.
//
// The caller owns the environment's lifecycle records (environment.start,
// environment.complete, environment.failed) and its database row; Build only
// adds a record per step, so a reader of events.ndjson can tell which
// command printed what.
package envbuild

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ade-dev/ade-worker/internal/engine"
	"github.com/ade-dev/ade-worker/internal/eventlog"
	"github.com/ade-dev/ade-worker/internal/paths"
)

// ErrTimeout is wrapped by the error of a build stopped by Spec.Timeout.
var ErrTimeout = errors.New("environment build timed out")

const (
	// DefaultPython is the interpreter that creates venvs when Spec.Python
	// is empty.
	DefaultPython = "python3"

	// maxErrorOutput bounds the subprocess output quoted in an error: enough
	// for pip's closing ERROR lines, short enough for a database column and
	// a person.
	maxErrorOutput = 2 << 10

	// probeEvent is printed by the last step with the versions to record.
	probeEvent = "environment.probe"
)

// probeScript imports the engine the way a run will, so a broken install
// fails the build rather than the first run, and reports what Info records.
const probeScript = `import json, platform, sys
from datetime import datetime, timezone
import ade_engine
print(json.dumps({
    "timestamp": datetime.now(timezone.utc).isoformat().replace("+00:00", "Z"),
    "level": "info",
    "event": "` + probeEvent + `",
    "message": "ade_engine imports",
    "data": {
        "python_version": platform.python_version(),
        "engine_version": str(getattr(ade_engine, "__version__", "") or ""),
        "executable": sys.executable,
    },
}, separators=(",", ":")))
`

// Spec describes one environment build.
type Spec struct {
	// Python creates the venv (ADE_WORKER_PYTHON). Default DefaultPython.
	Python string
	// EnvDir is the environment's folder; it is created if missing and is
	// the working directory of every step.
	EnvDir string
	// Venv is the virtual environment folder, removed and created anew.
	// Default EnvDir/.venv; it must lie inside EnvDir.
	Venv string
	// EngineSpec is a local folder (installed editable; a relative path is
	// taken from the worker's working directory) or a pip requirement.
	EngineSpec string
	// ConfigPackageDir is the configuration package, installed editable.
	ConfigPackageDir string
	// PipCacheDir is pip's cache, shared by builds; empty leaves pip's own.
	PipCacheDir string
	// BaseEnv is the environment the steps start from; they get its
	// allowlist (engine.BuildEnv). Nil means os.Environ().
	BaseEnv []string
	// EnvPassthrough names further variables of BaseEnv the steps get
	// (ADE_WORKER_ENGINE_ENV_PASSTHROUGH).
	EnvPassthrough []string
	// Timeout bounds the whole build, all steps together; 0 means none.
	Timeout time.Duration
	// Log receives every line the steps print and a record per step.
	Log *eventlog.Log
}

// Info is what a finished build records about the environment.
type Info struct {
	// PythonVersion is the venv's Python version, e.g. "3.12.4".
	PythonVersion string
	// Interpreter is the absolute path of the venv's python.
	Interpreter string
	// EngineVersion is ade_engine.__version__, empty if it has none.
	EngineVersion string
}

// Build creates the environment described by s: it removes any earlier
// (partial) venv, creates a new one, installs the engine and the
// configuration package, and checks that the engine imports. A failing step
// returns an error that names the step and quotes the end of its output; a
// build stopped by s.Timeout returns an error wrapping ErrTimeout, and one
// stopped by ctx an error wrapping ctx's cause.
func Build(ctx context.Context, s Spec) (Info, error) {
	b, err := newBuilder(s)
	if err != nil {
		return Info{}, err
	}
	if s.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, s.Timeout, ErrTimeout)
		defer cancel()
	}
	return b.build(ctx)
}

// builder holds a Spec with its paths resolved and checked.
type builder struct {
	spec      Spec
	venv      string
	python    string // the venv's interpreter
	engineDir string // set when EngineSpec is a local folder
	engineReq string // set when EngineSpec is a pip requirement
	configDir string
	env       []string
}

func newBuilder(s Spec) (*builder, error) {
	b := &builder{spec: s}
	if s.Python == "" {
		b.spec.Python = DefaultPython
	}
	if s.EnvDir == "" {
		return nil, errors.New("build environment: no environment folder given")
	}
	envDir, err := filepath.Abs(s.EnvDir)
	if err != nil {
		return nil, fmt.Errorf("build environment: resolve environment folder: %w", err)
	}
	b.spec.EnvDir = envDir
	b.venv = filepath.Join(envDir, ".venv")
	if s.Venv != "" {
		if b.venv, err = filepath.Abs(s.Venv); err != nil {
			return nil, fmt.Errorf("build environment: resolve venv folder: %w", err)
		}
	}
	// The venv is deleted before it is built; refuse anything that is not
	// strictly inside the environment folder.
	if rel, err := filepath.Rel(envDir, b.venv); err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return nil, fmt.Errorf("build environment: venv %s is not inside environment folder %s", b.venv, envDir)
	}
	b.python = paths.VenvPython(b.venv)

	if b.configDir, err = packageDir("config package", s.ConfigPackageDir); err != nil {
		return nil, fmt.Errorf("build environment: %w", err)
	}
	switch {
	case s.EngineSpec == "":
		return nil, errors.New("build environment: no engine spec given")
	case isDir(s.EngineSpec):
		if b.engineDir, err = packageDir("engine package", s.EngineSpec); err != nil {
			return nil, fmt.Errorf("build environment: %w", err)
		}
	case looksLikePath(s.EngineSpec):
		abs, _ := filepath.Abs(s.EngineSpec)
		return nil, fmt.Errorf("build environment: engine package folder %s (%s) does not exist", s.EngineSpec, abs)
	default:
		b.engineReq = s.EngineSpec
	}

	base := s.BaseEnv
	if base == nil {
		base = os.Environ()
	}
	extra := []string{"PIP_DISABLE_PIP_VERSION_CHECK=1", "PIP_NO_INPUT=1", "PIP_PROGRESS_BAR=off"}
	if s.PipCacheDir != "" {
		cache, err := filepath.Abs(s.PipCacheDir)
		if err != nil {
			return nil, fmt.Errorf("build environment: resolve pip cache folder: %w", err)
		}
		extra = append(extra, "PIP_CACHE_DIR="+cache)
	}
	b.env = engine.BuildEnv(base, s.EnvPassthrough, extra...)
	return b, nil
}

// packageDir checks that dir is a pip-installable project folder and returns
// its absolute path.
func packageDir(what, dir string) (string, error) {
	if dir == "" {
		return "", fmt.Errorf("no %s folder given", what)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("resolve %s folder: %w", what, err)
	}
	info, err := os.Stat(abs)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return "", fmt.Errorf("%s folder %s does not exist", what, abs)
	case err != nil:
		return "", fmt.Errorf("%s folder: %w", what, err)
	case !info.IsDir():
		return "", fmt.Errorf("%s %s is not a folder", what, abs)
	}
	for _, name := range []string{"pyproject.toml", "setup.py", "setup.cfg"} {
		if _, err := os.Stat(filepath.Join(abs, name)); err == nil {
			return abs, nil
		}
	}
	return "", fmt.Errorf("%s folder %s has no pyproject.toml, setup.py or setup.cfg", what, abs)
}

func isDir(path string) bool {
	info, err := os.Stat(path)
	return err == nil && info.IsDir()
}

// looksLikePath tells a missing folder from a pip requirement, so that a
// mistyped ADE_ENGINE_PACKAGE_PATH fails with "does not exist" rather than
// with pip's complaint about an invalid requirement.
func looksLikePath(spec string) bool {
	if strings.HasPrefix(spec, "/") || strings.HasPrefix(spec, "./") || strings.HasPrefix(spec, "../") || strings.HasPrefix(spec, "~") {
		return true
	}
	// Requirements hold "/" only inside URLs ("pkg @ https://...",
	// "git+https://...").
	return strings.Contains(spec, "/") && !strings.Contains(spec, "://") && !strings.Contains(spec, "@")
}

// step is one subprocess of a build. Its name is the command as a person
// would type it, and starts every error the step returns.
type step struct {
	name string
	path string
	args []string
	// shown replaces args in the step's record when they are too long to
	// be worth reading.
	shown []string
}

func (b *builder) steps() []step {
	engineStep := step{name: "pip install -e " + b.engineDir, path: b.python, args: []string{"-m", "pip", "install", "-e", b.engineDir}}
	if b.engineDir == "" {
		engineStep = step{name: "pip install " + b.engineReq, path: b.python, args: []string{"-m", "pip", "install", b.engineReq}}
	}
	return []step{
		{name: "python -m venv " + b.venv, path: b.spec.Python, args: []string{"-m", "venv", b.venv}},
		engineStep,
		{name: "pip install -e " + b.configDir, path: b.python, args: []string{"-m", "pip", "install", "-e", b.configDir}},
		{name: "import ade_engine", path: b.python, args: []string{"-c", probeScript}, shown: []string{"-c", "<print versions>"}},
	}
}

func (b *builder) build(ctx context.Context) (Info, error) {
	if err := os.MkdirAll(b.spec.EnvDir, 0o755); err != nil {
		return Info{}, fmt.Errorf("build environment: create environment folder: %w", err)
	}
	// A venv left by an interrupted build is never trusted: start over.
	if err := os.RemoveAll(b.venv); err != nil {
		return Info{}, fmt.Errorf("build environment: remove earlier venv: %w", err)
	}
	var probe *eventlog.EngineEvent
	for _, st := range b.steps() {
		ev, err := b.run(ctx, st)
		if err != nil {
			return Info{}, err
		}
		if ev != nil {
			probe = ev
		}
	}
	if probe == nil {
		return Info{}, errors.New("import ade_engine: the check printed no versions")
	}
	info, err := parseProbe(probe.Data)
	if err != nil {
		return Info{}, fmt.Errorf("import ade_engine: %w", err)
	}
	info.Interpreter = b.python
	return info, nil
}

// run runs one step and turns its failure into an error a person can act on.
// It returns the versions event printed by the last step, if any.
func (b *builder) run(ctx context.Context, st step) (*eventlog.EngineEvent, error) {
	log := b.spec.Log
	shown := st.args
	if st.shown != nil {
		shown = st.shown
	}
	log.Emit("info", "environment.step.start", st.name, map[string]any{
		"step":    st.name,
		"command": append([]string{st.path}, shown...),
	})
	var probe *eventlog.EngineEvent
	res, err := engine.Run(ctx, engine.Spec{
		Path:  st.path,
		Args:  st.args,
		Dir:   b.spec.EnvDir,
		Env:   b.env,
		Log:   log,
		Scope: "environment",
		OnEvent: func(ev *eventlog.EngineEvent) {
			if ev.Name == probeEvent {
				probe = ev
			}
		},
	})
	if ctx.Err() != nil {
		// Stopped by the build's deadline or by the caller: say which.
		cause := context.Cause(ctx)
		if errors.Is(cause, ErrTimeout) {
			err = fmt.Errorf("%s: %w after %s", st.name, ErrTimeout, b.spec.Timeout)
		} else {
			err = fmt.Errorf("%s: %w", st.name, cause)
		}
		log.Emit("error", "environment.step.complete", err.Error(), stepData(st, res))
		return nil, err
	}
	if err != nil {
		log.Emit("error", "environment.step.complete", err.Error(), map[string]any{"step": st.name})
		return nil, fmt.Errorf("%s: %w", st.name, err)
	}
	if res.ExitCode != 0 {
		err := fmt.Errorf("%s: %s", st.name, describeFailure(res))
		log.Emit("error", "environment.step.complete", err.Error(), stepData(st, res))
		return nil, err
	}
	log.Emit("info", "environment.step.complete", st.name, stepData(st, res))
	return probe, nil
}

func stepData(st step, res engine.Result) map[string]any {
	d := map[string]any{
		"step":        st.name,
		"exit_code":   res.ExitCode,
		"duration_ms": res.Duration.Milliseconds(),
	}
	if res.Signal != "" {
		d["signal"] = res.Signal
	}
	return d
}

// describeFailure says how a step ended and quotes the lines of its stderr
// that explain it, bounded to maxErrorOutput bytes. pip and Python bury the
// reason under progress lines and traceback frames, so the lines that carry
// it (pip's "ERROR:"/"error:" lines, its "×" summaries, an exception line)
// are quoted when there are any, with the last line; otherwise the last
// lines are. The full output stays in the event log.
func describeFailure(res engine.Result) string {
	how := fmt.Sprintf("exit status %d", res.ExitCode)
	if res.Signal != "" {
		how = "killed by " + res.Signal
	}
	var lines []string
	for _, line := range res.Tail {
		if line = strings.TrimSpace(line); line != "" {
			lines = append(lines, line)
		}
	}
	if len(lines) == 0 {
		return how
	}
	var telling []string
	seen := map[string]bool{}
	for i, line := range lines {
		if (isReason(line) || i == len(lines)-1) && !seen[line] {
			seen[line] = true
			telling = append(telling, line)
		}
	}
	if len(telling) > 1 || isReason(telling[0]) {
		lines = telling
	}
	return how + ": " + lastBytes(lines, maxErrorOutput)
}

// exceptionLine matches the last line of a Python traceback, e.g.
// "ModuleNotFoundError: No module named 'x'" or "pkg.mod.SomeError: ...".
var exceptionLine = regexp.MustCompile(`^([A-Za-z_]\w*\.)*[A-Za-z_]\w*(Error|Exception|Exit|Interrupt)(:|$)`)

func isReason(line string) bool {
	return strings.HasPrefix(line, "ERROR:") || strings.HasPrefix(line, "error:") ||
		strings.HasPrefix(line, "×") || exceptionLine.MatchString(line)
}

// lastBytes joins the last of lines that fit in limit bytes; a single line
// too long for it keeps its end.
func lastBytes(lines []string, limit int) string {
	start, size := len(lines), 0
	for start > 0 && size+len(lines[start-1])+1 <= limit {
		start--
		size += len(lines[start]) + 1
	}
	if start == len(lines) {
		line := lines[len(lines)-1]
		cut := len(line) - limit
		for cut < len(line) && !utf8.RuneStart(line[cut]) {
			cut++
		}
		return "…" + line[cut:]
	}
	return strings.Join(lines[start:], "\n")
}

// parseProbe reads the versions printed by probeScript.
func parseProbe(data json.RawMessage) (Info, error) {
	var p struct {
		PythonVersion string `json:"python_version"`
		EngineVersion string `json:"engine_version"`
	}
	if err := json.Unmarshal(data, &p); err != nil {
		return Info{}, fmt.Errorf("read versions: %w", err)
	}
	if p.PythonVersion == "" {
		return Info{}, errors.New("read versions: no Python version printed")
	}
	return Info{PythonVersion: p.PythonVersion, EngineVersion: p.EngineVersion}, nil
}

// Usable reports whether interpreter, the Info.Interpreter of a built
// environment, is still there and executable. A venv can vanish under a
// ready environment (a cleaned disk, a restored volume, a removed base
// Python that its interpreter links to); runs must not be started in it.
func Usable(interpreter string) error {
	if interpreter == "" {
		return errors.New("check interpreter: no path recorded")
	}
	info, err := os.Stat(interpreter)
	if err != nil {
		return fmt.Errorf("check interpreter: %w", err)
	}
	if !info.Mode().IsRegular() {
		return fmt.Errorf("check interpreter: %s is not a file", interpreter)
	}
	// exec.LookPath of a path checks it the way the system will run it:
	// execute permission for this user on Unix, a program's extension on
	// Windows.
	if _, err := exec.LookPath(interpreter); err != nil {
		return fmt.Errorf("check interpreter: %s is not executable: %w", interpreter, err)
	}
	return nil
}
