package operator

import (
	"strings"
	"testing"
)

// The build errors here are what envbuild returned for real failures:
// the failing step, pip's exit status, and the lines that explain it.
func TestExplainBuildError(t *testing.T) {
	const noSetuptools = "pip install -e /src/ade-engine: exit status 1: error: subprocess-exited-with-error\n" +
		"× pip subprocess to install build dependencies did not run successfully.\n" +
		"ERROR: Could not find a version that satisfies the requirement setuptools>=64 (from versions: none)\n" +
		"ERROR: No matching distribution found for setuptools>=64\n" +
		"note: This error originates from a subprocess, and is likely not a problem with pip."
	for _, c := range []struct {
		name, msg string
		environ   []string
		want      []string
	}{
		{"index unreachable", noSetuptools, []string{"PIP_INDEX_URL=http://mirror.invalid/simple"},
			[]string{"pip cannot reach a package index for setuptools>=64", "needed to build /src/ade-engine", "PIP_INDEX_URL", "PIP_FIND_LINKS"}},
		{"offline without the wheel", noSetuptools, []string{"PIP_NO_INDEX=1", "PIP_FIND_LINKS=/opt/wheels"},
			[]string{"pip found no setuptools>=64 (needed to build /src/ade-engine)", "PIP_NO_INDEX is set", `"/opt/wheels"`}},
		{"PIP_NO_INDEX=0 is not offline", noSetuptools, []string{"PIP_NO_INDEX=0"},
			[]string{"pip cannot reach a package index for setuptools>=64"}},
		{"requirement", "pip install ade-engine==2.0: exit status 1: WARNING: Retrying (Retry(total=0)) after connection broken by " +
			"'NewConnectionError(...: Failed to establish a new connection: [Errno 111] Connection refused)': /simple/ade-engine/\n" +
			"ERROR: Could not find a version that satisfies the requirement ade-engine==2.0 (from versions: none)",
			nil, []string{"pip cannot reach a package index (needed to install ade-engine==2.0)"}},
		{"no ensurepip", "python -m venv /d/.venv: exit status 1: Error: Command '['/d/.venv/bin/python3', '-m', 'ensurepip', '--upgrade', '--default-pip']' " +
			"returned non-zero exit status 1.\nThe virtual environment was not created successfully because ensurepip is not available.",
			nil, []string{"no venv", "python3-venv"}},
		{"anything else", "pip install -e /cfg: exit status 1: ERROR: Project file:///cfg has a 'pyproject.toml' and its build backend is missing\nmore",
			nil, []string{"pip install -e /cfg: exit status 1: ERROR: Project file:///cfg has a 'pyproject.toml'"}},
	} {
		got := explainBuildError(c.msg, c.environ)
		if strings.Contains(got, "\n") {
			t.Errorf("%s: more than one line: %q", c.name, got)
		}
		for _, w := range c.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: %q does not say %q", c.name, got, w)
			}
		}
	}
}
