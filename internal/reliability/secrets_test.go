//go:build unix

package reliability

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestEngineEnvironmentHasNoSecrets: the engine runs configuration code
// written by users, so it gets an allowlisted environment: neither the
// database settings nor any credential, whether its name says so or not
// (DATABASE_URL, a proxy URL with a password, DB_PWD, PRIVATE_PEM), nor an
// ordinary variable nobody named; a variable the operator names in
// ADE_WORKER_ENGINE_ENV_PASSTHROUGH does reach it, and so do the venv's.
func TestEngineEnvironmentHasNoSecrets(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	runID := f.simpleRuns("cfg-envdump", "envdump", 1)[0]
	secrets := map[string]string{
		"ADE_DATABASE_PASSWORD":     "pw-in-ade-database",
		"AZURE_CLIENT_SECRET":       "azure-secret-value",
		"SERVICE_API_TOKEN":         "token-value",
		"DB_PASSWORD":               "db-password-value",
		"STORAGE_ACCOUNT_KEY":       "account-key-value",
		"ADE_DATABASE_MI_CLIENT_ID": "mi-client-id",
		"DATABASE_URL":              "postgres://u:pw-in-database-url@h/d",
		"SQLALCHEMY_DATABASE_URI":   "mssql://sa:pw-in-sqlalchemy@h/d",
		"HTTPS_PROXY":               "http://user:pw-in-proxy@proxy.example:3128",
		"DB_PWD":                    "db-pwd-value",
		"ADE_API_AUTH":              "Bearer api-auth-value",
		"PRIVATE_PEM":               "-----BEGIN PRIVATE KEY----- pem-value",
		"ADE_RELIABILITY_UNNAMED":   "unnamed-value",
	}
	env := []string{
		"ADE_RELIABILITY_ORDINARY=visible", "ADE_WORKER_ENGINE_ENV_PASSTHROUGH=ADE_FAKE_MARKERS,ADE_RELIABILITY_ORDINARY",
		"LC_TIME=C.UTF-8", "TZ=UTC",
	}
	for k, v := range secrets {
		env = append(env, k+"="+v)
	}
	w := f.startWorker("secretive", env...)
	f.waitTerminal(30*time.Second, runID)
	w.stop(t)
	if r := f.run(runID); r.Status != "succeeded" {
		t.Fatalf("run %s: %q", r.Status, r.ErrorMessage.String)
	}

	b, err := os.ReadFile(filepath.Join(f.dataDir, "workspaces", testWorkspace, "runs", runID, "output", "env.json"))
	if err != nil {
		t.Fatal(err)
	}
	var seen map[string]string
	if err := json.Unmarshal(b, &seen); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"ADE_RELIABILITY_ORDINARY": "visible", "LC_TIME": "C.UTF-8", "TZ": "UTC", "PYTHONUNBUFFERED": "1"} {
		if seen[name] != want {
			t.Errorf("engine sees %s=%q, want %q", name, seen[name], want)
		}
	}
	// The environment's interpreter is fakepython, in <root>/bin.
	venvBin := filepath.Dir(f.fakePython)
	if !strings.HasPrefix(seen["PATH"], venvBin+string(os.PathListSeparator)) || seen["VIRTUAL_ENV"] != filepath.Dir(venvBin) {
		t.Errorf("engine sees PATH %q and VIRTUAL_ENV %q; want the venv of %s first", seen["PATH"], seen["VIRTUAL_ENV"], venvBin)
	}
	for name, value := range seen {
		if strings.HasPrefix(name, "ADE_DATABASE_") || strings.HasPrefix(name, "ADE_WORKER_") {
			t.Errorf("engine sees %s", name)
		}
		for secretName, secret := range secrets {
			if name == secretName || strings.Contains(value, secret) {
				t.Errorf("engine sees %s (%s)", name, secretName)
			}
		}
		if strings.Contains(value, f.dbPath) {
			t.Errorf("engine sees the database path in %s", name)
		}
	}
	t.Logf("the engine's environment: %d variables: %v", len(seen), slices.Sorted(maps.Keys(seen)))
}

// TestDatabaseUnreachableAtStart: a database that cannot be opened at
// start-up is one clear error and a non-zero exit within seconds, not a
// retry loop; and no output line, from any layer, shows the password.
func TestDatabaseUnreachableAtStart(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	notADir := filepath.Join(f.root, "not-a-folder")
	if err := os.WriteFile(notADir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	const password = "S3cr3t-Pa55"
	cases := []struct {
		name, url, want string
	}{
		{"sqlite folder is a file", "sqlite:///" + notADir + "/ade.sqlite", "not a directory"},
		{"sql server refuses", "mssql+pyodbc://ade:" + password + "@127.0.0.1:1/ade?driver=ODBC+Driver+18+for+SQL+Server", "connection refused"},
		{"sql server native url", "sqlserver://ade:" + password + "@127.0.0.1:1?database=ade", "connection refused"},
		{"odbc connect string", "mssql+pyodbc:///?odbc_connect=" + "DRIVER%3D%7BODBC+Driver+18%7D%3BSERVER%3D127.0.0.1%2C1%3BDATABASE%3Dade%3BUID%3Dade%3BPWD%3D" + password, "connection refused"},
		{"password with an at sign", "mssql://ade:" + password + "@@127.0.0.1:1/ade", ""},
		{"malformed url", "mssql+pyodbc://ade:" + password + "@[::1/ade", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			w := f.startCommand("unreachable", []string{"run"}, "ADE_DATABASE_URL="+c.url)
			code := w.wait(t, 60*time.Second)
			took := time.Since(start)
			out := w.raw()
			if code == 0 {
				t.Fatalf("exit 0 with an unreachable database:\n%s", out)
			}
			if strings.Contains(out, password) {
				t.Errorf("password in the output:\n%s", out)
			}
			if c.want != "" && !strings.Contains(out, c.want) {
				t.Errorf("output does not say %q:\n%s", c.want, out)
			}
			if lines := strings.Count(out, "\n"); lines > 5 {
				t.Errorf("%d output lines: a retry loop?\n%s", lines, out)
			}
			t.Logf("exit %d after %s: %s", code, took.Round(time.Millisecond), lastLine(out))
		})
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
