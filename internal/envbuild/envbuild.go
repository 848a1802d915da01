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
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/ade-dev/ade-worker/internal/engine"
	"github.com/ade-dev/ade-worker/internal/eventlog"
	"github.com/ade-dev/ade-worker/internal/paths"
)

// ErrTimeout is wrapped by the error of a build stopped by Spec.Timeout.
var ErrTimeout = errors.New("environment build timed out")

// DefaultPython is the interpreter that creates venvs when Spec.Python is
// empty.
const DefaultPython = "python3"

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
