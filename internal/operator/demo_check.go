package operator

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/ade-dev/ade-worker/internal/paths"
)

// pythonCheck exits 3 on a Python older than the reference engine needs
// and 4 when the interpreter cannot make a virtual environment with pip.
// Debian and Ubuntu ship ensurepip (and so `python3 -m venv` with pip) in
// a package of its own, python3-venv.
const pythonCheck = `import sys
if sys.version_info < (3, 10):
    print("Python %d.%d" % sys.version_info[:2]); sys.exit(3)
try:
    import venv, ensurepip
except ImportError as e:
    print(e); sys.exit(4)
`

// checkPython says in one line why python cannot build the demo's
// environment: it is not there, it is too old, or it lacks venv or
// ensurepip.
func checkPython(ctx context.Context, python string, environ []string) error {
	path, err := exec.LookPath(python)
	if err != nil {
		return fmt.Errorf("no Python: %q (ADE_WORKER_PYTHON) was not found; install Python 3.10 or newer with venv, or point ADE_WORKER_PYTHON at it", python)
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, "-c", pythonCheck)
	cmd.Env = environ
	out, err := cmd.CombinedOutput()
	said := lastLine(string(out))
	var exit *exec.ExitError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &exit) && exit.ExitCode() == 3:
		return fmt.Errorf("%s is %s; the reference engine needs Python 3.10 or newer (set ADE_WORKER_PYTHON)", path, said)
	case errors.As(err, &exit) && exit.ExitCode() == 4:
		return fmt.Errorf("no venv: %s cannot create virtual environments with pip (%s); on Debian and Ubuntu install python3-venv", path, said)
	}
	return fmt.Errorf("%s (ADE_WORKER_PYTHON) does not run: %v: %s", path, err, said)
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

const buildFailedPrefix = "environment build failed: "

var (
	// noDistribution is pip's last word when neither an index nor
	// find-links had the requirement; "from versions: none" is the same
	// in its other phrasing.
	noDistribution = regexp.MustCompile(`No matching distribution found for (\S+)`)
	// unreachable are the connection errors pip retries before giving up.
	unreachable = regexp.MustCompile(`NewConnectionError|Failed to establish a new connection|Name or service not known|Temporary failure in name resolution|Network is unreachable|Connection refused|Could not fetch URL`)
	// stepName is the step an envbuild error starts with.
	stepName = regexp.MustCompile(`^(pip install(?: -e)? \S+|python -m venv \S+|import ade_engine): `)
)

// buildFailure turns a failed environment build, if the runs failed on
// one, into the demo's one-line error.
func buildFailure(rows []DemoRow, environ []string, layout paths.Layout) error {
	for _, r := range rows {
		if msg, ok := strings.CutPrefix(r.Error, buildFailedPrefix); ok {
			logs, _ := filepath.Glob(filepath.Join(layout.VenvsDir(), "*", "*", "*", "*", "logs", "events.ndjson"))
			where := ""
			if len(logs) > 0 {
				where = " (build log: " + logs[0] + ")"
			}
			return fmt.Errorf("the virtual environment could not be built: %s%s", explainBuildError(msg, environ), where)
		}
	}
	return nil
}

// explainBuildError names, in one line, the missing piece an environment
// build error points to, with what to do about it; an error it does not
// recognise is given as its step and first line.
func explainBuildError(msg string, environ []string) string {
	step := ""
	if m := stepName.FindStringSubmatch(msg); m != nil {
		step = m[1]
	}
	building := ""
	if target, ok := strings.CutPrefix(step, "pip install -e "); ok {
		building = " (needed to build " + target + ")"
	} else if target, ok := strings.CutPrefix(step, "pip install "); ok {
		building = " (needed to install " + target + ")"
	}
	offline := envValue(environ, "PIP_NO_INDEX")
	switch m := noDistribution.FindStringSubmatch(msg); {
	case m != nil && offline != "" && offline != "0" && !strings.EqualFold(offline, "false"):
		return fmt.Sprintf("pip found no %s%s: PIP_NO_INDEX is set and PIP_FIND_LINKS (%q) holds no wheel of it", m[1], building, envValue(environ, "PIP_FIND_LINKS"))
	case m != nil:
		return fmt.Sprintf("pip cannot reach a package index for %s%s: set PIP_INDEX_URL to a reachable index, or PIP_NO_INDEX=1 and PIP_FIND_LINKS to a folder holding its wheel", m[1], building)
	case unreachable.MatchString(msg):
		return fmt.Sprintf("pip cannot reach a package index%s: set PIP_INDEX_URL to a reachable index, or PIP_NO_INDEX=1 and PIP_FIND_LINKS to a folder of wheels", building)
	case strings.Contains(msg, "ensurepip is not available") || strings.Contains(msg, "No module named venv"):
		return "no venv: the interpreter cannot create virtual environments with pip; on Debian and Ubuntu install python3-venv"
	}
	first, _, _ := strings.Cut(msg, "\n")
	return first
}

// envValue is the value of name in environ, "" when unset.
func envValue(environ []string, name string) string {
	v := ""
	for _, kv := range environ {
		if k, val, ok := strings.Cut(kv, "="); ok && k == name {
			v = val // the last one wins, as for exec
		}
	}
	return strings.TrimSpace(v)
}
