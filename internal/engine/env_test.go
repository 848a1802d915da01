package engine

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// workerEnviron is a worker's environment with every kind of variable the
// allowlist must sort: the ones a program needs, the engine's settings,
// and credentials under names that say so and names that do not.
var workerEnviron = []string{
	"PATH=/usr/bin:/bin",
	"HOME=/home/ade",
	"LANG=C.UTF-8",
	"LC_ALL=C.UTF-8",
	"LC_TIME=en_GB.UTF-8",
	"TZ=UTC",
	"TMPDIR=/tmp/ade",
	"TEMP=/tmp/ade",
	"TMP=/tmp/ade",
	"PWD=/srv",
	"USER=ade",
	"ADE_ENGINE_FEATURE=on",
	"ADE_ENGINE_API_KEY=k",
	"ADE_WORKER_DATA_DIR=/data",
	"ADE_DATABASE_URL=mssql+pyodbc://user:pw@host/db",
	"ADE_API_AUTH=Bearer abc",
	"DATABASE_URL=postgres://u:pw@h/d",
	"SQLALCHEMY_DATABASE_URI=mssql://sa:pw@h/d",
	"HTTPS_PROXY=http://user:pw@proxy:3128",
	"https_proxy=http://user:pw@proxy:3128",
	"NO_PROXY=localhost",
	"SSL_CERT_FILE=/etc/ssl/corp.pem",
	"DB_PWD=hunter2",
	"PRIVATE_PEM=-----BEGIN PRIVATE KEY-----",
	"AZURE_CLIENT_SECRET=s3cret",
	"PIP_INDEX_URL=https://token@pypi.internal/simple",
	"PYTHONPATH=/opt/elsewhere",
	"VIRTUAL_ENV=/opt/worker-venv",
	"MY_ENGINE_SETTING=passed",
	"PYTHONUNBUFFERED=0",
	"NOEQUALS",
	"=nameless",
}

func TestEngineEnv(t *testing.T) {
	t.Parallel()
	got := EngineEnv(workerEnviron, []string{"MY_ENGINE_SETTING", "NOT_SET_ANYWHERE"}, "HOME=/override", "EXTRA=1")
	want := []string{
		"PATH=/usr/bin:/bin",
		"HOME=/override",
		"LANG=C.UTF-8",
		"LC_ALL=C.UTF-8",
		"LC_TIME=en_GB.UTF-8",
		"TZ=UTC",
		"TMPDIR=/tmp/ade",
		"TEMP=/tmp/ade",
		"TMP=/tmp/ade",
		"ADE_ENGINE_FEATURE=on",
		"MY_ENGINE_SETTING=passed",
		"PYTHONUNBUFFERED=1",
		"EXTRA=1",
	}
	if !slices.Equal(got, want) {
		t.Errorf("EngineEnv =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got := ChildEnv(workerEnviron); slices.Contains(got, "MY_ENGINE_SETTING=passed") {
		t.Error("ChildEnv passed a variable nobody named")
	}
}

func TestBuildEnv(t *testing.T) {
	t.Parallel()
	got := BuildEnv(workerEnviron, []string{"MY_ENGINE_SETTING"}, "PIP_CACHE_DIR=/data/cache/pip")
	for _, present := range []string{
		"PATH=/usr/bin:/bin", "HOME=/home/ade", "LC_ALL=C.UTF-8", "ADE_ENGINE_FEATURE=on", "MY_ENGINE_SETTING=passed",
		"HTTPS_PROXY=http://user:pw@proxy:3128", "https_proxy=http://user:pw@proxy:3128", "NO_PROXY=localhost",
		"SSL_CERT_FILE=/etc/ssl/corp.pem", "PIP_INDEX_URL=https://token@pypi.internal/simple",
		"PYTHONUNBUFFERED=1", "PIP_CACHE_DIR=/data/cache/pip",
	} {
		if !slices.Contains(got, present) {
			t.Errorf("BuildEnv lacks %s", present)
		}
	}
	checkNoSecrets(t, "BuildEnv", got, "HTTPS_PROXY", "https_proxy", "PIP_INDEX_URL")
}

// checkNoSecrets fails for any credential, database setting or worker
// setting in env, but for the names let through.
func checkNoSecrets(t *testing.T, what string, env []string, let ...string) {
	t.Helper()
	for _, kv := range env {
		name, value, _ := strings.Cut(kv, "=")
		if slices.Contains(let, name) {
			continue
		}
		for _, secret := range []string{"pw@", "hunter2", "s3cret", "PRIVATE KEY", "Bearer", "token@", "=k"} {
			if strings.Contains(kv, secret) {
				t.Errorf("%s holds %s", what, kv)
			}
		}
		if strings.HasPrefix(name, "ADE_DATABASE_") || strings.HasPrefix(name, "ADE_WORKER_") || strings.HasPrefix(name, "ADE_API_") ||
			name == "PYTHONPATH" || name == "VIRTUAL_ENV" || name == "PWD" || name == "USER" || value == "" {
			t.Errorf("%s holds %s", what, kv)
		}
	}
}

func TestEngineEnvHoldsNoSecret(t *testing.T) {
	t.Parallel()
	checkNoSecrets(t, "EngineEnv", EngineEnv(workerEnviron, nil))
}

func TestVenvEnv(t *testing.T) {
	t.Parallel()
	python := filepath.Join("/data", "venvs", "env-1", ".venv", "bin", "python")
	base := EngineEnv(workerEnviron, nil)
	got := VenvEnv(base, python)
	sep := string(os.PathListSeparator)
	for _, present := range []string{
		"VIRTUAL_ENV=" + filepath.Join("/data", "venvs", "env-1", ".venv"),
		"PATH=" + filepath.Dir(python) + sep + "/usr/bin:/bin",
		"HOME=/home/ade",
	} {
		if !slices.Contains(got, present) {
			t.Errorf("VenvEnv lacks %s:\n%s", present, strings.Join(got, "\n"))
		}
	}
	if slices.Contains(base, "VIRTUAL_ENV="+filepath.Join("/data", "venvs", "env-1", ".venv")) {
		t.Error("VenvEnv changed the environment it was given")
	}
	noPath := VenvEnv([]string{"HOME=/h"}, python)
	if !slices.Contains(noPath, "PATH="+filepath.Dir(python)) {
		t.Errorf("VenvEnv without a PATH = %q", noPath)
	}
}

// TestEngineEnvReachesSubprocess checks, through a real subprocess printing
// its environment, that Run's default environment is the allowlist.
func TestEngineEnvReachesSubprocess(t *testing.T) {
	for _, kv := range workerEnviron {
		name, value, ok := strings.Cut(kv, "=")
		// PATH finds env, HOME and the temporary folders stay the test's.
		if ok && name != "" && !slices.Contains([]string{"PATH", "HOME", "TMPDIR", "TEMP", "TMP"}, name) {
			t.Setenv(name, value)
		}
	}
	l, path := openLog(t)
	res := run(t, Spec{Path: "env", Log: l}) // Env nil: ChildEnv(os.Environ())
	if res.ExitCode != 0 {
		t.Fatalf("env: %+v", res)
	}
	var env []string
	for _, r := range readLog(t, l, path) {
		env = append(env, r["message"].(string))
	}
	checkNoSecrets(t, "the subprocess's environment", env)
	for _, present := range []string{"PYTHONUNBUFFERED=1", "ADE_ENGINE_FEATURE=on", "LC_TIME=en_GB.UTF-8"} {
		if !slices.Contains(env, present) {
			t.Errorf("the subprocess's environment lacks %q:\n%s", present, strings.Join(env, "\n"))
		}
	}
}
