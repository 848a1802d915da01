package engine

import (
	"os"
	"path/filepath"
	"strings"
)

// The engine runs configuration code written by users, so it gets an
// allowlisted environment: the few variables a Python program needs to
// find its tools, its home, its locale and its temporary folder, and
// nothing else of the worker's. A variable is never passed because its name
// looks harmless: DATABASE_URL, HTTPS_PROXY=http://user:pw@... or
// PRIVATE_PEM say nothing of a secret in their names.

// allowedNames pass from the worker to every subprocess.
var allowedNames = []string{"PATH", "HOME", "LANG", "TZ", "TMPDIR", "TEMP", "TMP"}

// allowedPrefixes pass too: the locale's categories.
var allowedPrefixes = []string{"LC_"}

// enginePrefix marks the engine's own settings (ADE_ENGINE_*), which the
// contract passes to the engine; one whose name marks a credential does not
// pass all the same.
const enginePrefix = "ADE_ENGINE_"

// secretMarkers are parts of variable names that mark a credential.
var secretMarkers = []string{"PASSWORD", "PASSWD", "PWD", "SECRET", "TOKEN", "KEY", "CREDENTIAL", "AUTH", "PEM", "CONNECTION_STRING", "DATABASE_URL", "DSN"}

// buildNames and buildPrefixes pass to environment builds only: pip needs
// its own settings (a private index, find-links), a proxy and the
// certificates that let it reach an index. They may hold credentials, so
// the engine never sees them unless the operator names them.
var (
	buildNames = []string{
		"HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "no_proxy", "all_proxy",
		"SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE",
	}
	buildPrefixes = []string{"PIP_"}
)

// EngineEnv is the environment of an engine run: from base (usually
// os.Environ()) the allowlisted variables (PATH, HOME, LANG, LC_*, TZ,
// TMPDIR, TEMP, TMP, and SYSTEMROOT and USERPROFILE on Windows), the
// engine's ADE_ENGINE_* settings, and the variables named in passthrough
// (ADE_WORKER_ENGINE_ENV_PASSTHROUGH); then PYTHONUNBUFFERED=1 so events
// arrive as they happen; then extra ("NAME=value" entries, kept as given).
// A later entry for a name replaces an earlier one.
func EngineEnv(base, passthrough []string, extra ...string) []string {
	return childEnv(base, passthrough, false, extra)
}

// BuildEnv is the environment of an environment build's steps: EngineEnv's,
// plus the operator's PIP_* settings, the proxy variables and the
// certificate settings pip needs to reach an index.
func BuildEnv(base, passthrough []string, extra ...string) []string {
	return childEnv(base, passthrough, true, extra)
}

// ChildEnv is EngineEnv with nothing passed through: the default
// environment of Run.
func ChildEnv(base []string, extra ...string) []string {
	return EngineEnv(base, nil, extra...)
}

func childEnv(base, passthrough []string, build bool, extra []string) []string {
	out := make([]string, 0, len(allowedNames)+len(extra)+4)
	index := make(map[string]int, cap(out))
	set := func(kv string) {
		name, _, ok := strings.Cut(kv, "=")
		if !ok || name == "" {
			return
		}
		key := envKey(name)
		if i, seen := index[key]; seen {
			out[i] = kv
			return
		}
		index[key] = len(out)
		out = append(out, kv)
	}
	named := make(map[string]bool, len(passthrough))
	for _, name := range passthrough {
		named[envKey(name)] = true
	}
	for _, kv := range base {
		name, _, _ := strings.Cut(kv, "=")
		if named[envKey(name)] || allowed(name) || (build && buildOnly(name)) {
			set(kv)
		}
	}
	set("PYTHONUNBUFFERED=1")
	for _, kv := range extra {
		set(kv)
	}
	return out
}

// allowed reports whether a variable of the worker reaches every
// subprocess.
func allowed(name string) bool {
	key := envKey(name)
	for _, n := range allowedNames {
		if key == envKey(n) {
			return true
		}
	}
	for _, n := range platformNames {
		if key == envKey(n) {
			return true
		}
	}
	for _, p := range allowedPrefixes {
		if strings.HasPrefix(key, envKey(p)) {
			return true
		}
	}
	return strings.HasPrefix(key, envKey(enginePrefix)) && !looksSecret(name)
}

// buildOnly reports whether a variable reaches environment builds (and
// only them).
func buildOnly(name string) bool {
	key := envKey(name)
	for _, n := range buildNames {
		if key == envKey(n) {
			return true
		}
	}
	for _, p := range buildPrefixes {
		if strings.HasPrefix(key, envKey(p)) {
			return true
		}
	}
	return false
}

// looksSecret reports whether a name marks a credential.
func looksSecret(name string) bool {
	upper := strings.ToUpper(name)
	for _, marker := range secretMarkers {
		if strings.Contains(upper, marker) {
			return true
		}
	}
	return false
}

// VenvEnv returns env as a virtual environment's activation would leave
// it for the venv whose interpreter is python (<venv>/bin/python, or
// <venv>\Scripts\python.exe): VIRTUAL_ENV names the venv and its scripts
// folder comes first in PATH, so whatever the engine starts by name (a
// console script of the configuration's dependencies, python itself) is
// the venv's. env is not changed.
func VenvEnv(env []string, python string) []string {
	scripts := filepath.Dir(python)
	venv := filepath.Dir(scripts)
	out := make([]string, 0, len(env)+2)
	path := scripts
	for _, kv := range env {
		name, value, _ := strings.Cut(kv, "=")
		switch envKey(name) {
		case envKey("VIRTUAL_ENV"), envKey("PYTHONHOME"):
			continue
		case envKey("PATH"):
			if value != "" {
				path = scripts + string(os.PathListSeparator) + value
			}
			continue
		}
		out = append(out, kv)
	}
	return append(out, "VIRTUAL_ENV="+venv, "PATH="+path)
}
