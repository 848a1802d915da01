package config

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"
)

// inEmptyDir runs the test from an empty folder so a developer's own ./.env
// never leaks into it.
func inEmptyDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Chdir(dir)
	return dir
}

func mustLoad(t *testing.T, environ ...string) Config {
	t.Helper()
	cfg, err := Load(environ)
	if err != nil {
		t.Fatalf("Load(%q): %v", environ, err)
	}
	return cfg
}

func TestLoadDefaults(t *testing.T) {
	inEmptyDir(t)
	cfg := mustLoad(t)

	want := Config{
		DatabaseURL:         "sqlite:///./data/db/ade.sqlite",
		DatabaseAuthMode:    "sql_password",
		SQLiteJournalMode:   "WAL",
		SQLiteSynchronous:   "NORMAL",
		SQLiteBusyTimeoutMS: 30000,
		DatabasePoolSize:    5,
		DatabaseMaxOverflow: 10,
		DatabasePoolTimeout: 30 * time.Second,
		DatabasePoolRecycle: 1800 * time.Second,
		AutoCreateSchema:    false,
		WorkerID:            cfg.WorkerID, // random, checked below
		Concurrency:         DefaultConcurrency(runtime.NumCPU()),
		PollInterval:        500 * time.Millisecond,
		PollIntervalMax:     2 * time.Second,
		MSSQLPollInterval:   250 * time.Millisecond,
		CleanupInterval:     30 * time.Second,
		LogLevel:            slog.LevelInfo,
		LogFormat:           "text",
		ShutdownGrace:       30 * time.Second,
		Lease:               900 * time.Second,
		BackoffBase:         5 * time.Second,
		BackoffMax:          300 * time.Second,
		MaxAttemptsDefault:  3,
		EnableGC:            true,
		GCInterval:          time.Hour,
		EnvTTLDays:          30,
		RunArtifactTTLDays:  30,
		DataDir:             "./data",
		EnginePackagePath:   "apps/ade-engine",
		Python:              "python3",
		EnvBuildTimeout:     600 * time.Second,
		EnvBuildMaxAttempts: 3,
	}
	if runtime.GOOS == "windows" {
		want.Python = "python"
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("defaults:\n got %+v\nwant %+v", cfg, want)
	}

	// Defaults is the same, less what Load computes.
	want.DatabaseURL, want.WorkerID, want.Concurrency = "", "", 0
	if d := Defaults(); !reflect.DeepEqual(d, want) {
		t.Errorf("Defaults():\n got %+v\nwant %+v", d, want)
	}

	host, _ := os.Hostname()
	if !regexp.MustCompile(`^` + regexp.QuoteMeta(host) + `-[0-9a-f]{6}$`).MatchString(cfg.WorkerID) {
		t.Errorf("WorkerID = %q, want %q plus a 6-hex suffix", cfg.WorkerID, host)
	}
	if other := mustLoad(t); other.WorkerID == cfg.WorkerID {
		t.Errorf("two loads chose the same worker id %q; the suffix must be random", cfg.WorkerID)
	}
	if cfg.RunTimeout != 0 {
		t.Errorf("RunTimeout = %v, want 0 (none)", cfg.RunTimeout)
	}
	if got := cfg.SQLiteBusyTimeout(); got != 30*time.Second {
		t.Errorf("SQLiteBusyTimeout() = %v", got)
	}
	if got := cfg.EnvTTL(); got != 30*24*time.Hour {
		t.Errorf("EnvTTL() = %v", got)
	}
	if got := cfg.RunArtifactTTL(); got != 30*24*time.Hour {
		t.Errorf("RunArtifactTTL() = %v", got)
	}
}

func TestDefaultConcurrency(t *testing.T) {
	for cpus, want := range map[int]int{0: 1, 1: 1, 2: 1, 3: 1, 4: 2, 6: 3, 8: 4, 64: 4} {
		if got := DefaultConcurrency(cpus); got != want {
			t.Errorf("DefaultConcurrency(%d) = %d, want %d", cpus, got, want)
		}
	}
}

func TestLoadOverrides(t *testing.T) {
	inEmptyDir(t)
	tests := []struct {
		env  []string
		get  func(Config) any
		want any
	}{
		{[]string{"ADE_DATABASE_URL=mssql+pyodbc://u:p@h/db"}, func(c Config) any { return c.DatabaseURL }, "mssql+pyodbc://u:p@h/db"},
		{[]string{"ADE_WORKER_DATA_DIR=/srv/ade/"}, func(c Config) any { return c.DatabaseURL }, "sqlite:////srv/ade/db/ade.sqlite"},
		{[]string{"ADE_WORKER_DATA_DIR=rel/dir"}, func(c Config) any { return c.DatabaseURL }, "sqlite:///rel/dir/db/ade.sqlite"},
		{[]string{"ADE_WORKER_DATA_DIR=/srv/ade", "ADE_DATABASE_URL=sqlite:///x.db"}, func(c Config) any { return c.DatabaseURL }, "sqlite:///x.db"},
		{[]string{"ADE_DATABASE_AUTH_MODE=Managed_Identity"}, func(c Config) any { return c.DatabaseAuthMode }, "managed_identity"},
		{[]string{"ADE_DATABASE_MI_CLIENT_ID=abc"}, func(c Config) any { return c.DatabaseMIClientID }, "abc"},
		{[]string{"ADE_DATABASE_SQLITE_JOURNAL_MODE=delete"}, func(c Config) any { return c.SQLiteJournalMode }, "DELETE"},
		{[]string{"ADE_DATABASE_SQLITE_SYNCHRONOUS=full"}, func(c Config) any { return c.SQLiteSynchronous }, "FULL"},
		{[]string{"ADE_DATABASE_SQLITE_BUSY_TIMEOUT_MS=0"}, func(c Config) any { return c.SQLiteBusyTimeoutMS }, 0},
		{[]string{"ADE_DATABASE_POOL_SIZE=20"}, func(c Config) any { return c.DatabasePoolSize }, 20},
		{[]string{"ADE_DATABASE_MAX_OVERFLOW=0"}, func(c Config) any { return c.DatabaseMaxOverflow }, 0},
		{[]string{"ADE_DATABASE_POOL_TIMEOUT=2.5"}, func(c Config) any { return c.DatabasePoolTimeout }, 2500 * time.Millisecond},
		{[]string{"ADE_DATABASE_POOL_RECYCLE=0"}, func(c Config) any { return c.DatabasePoolRecycle }, time.Duration(0)},
		{[]string{"ADE_WORKER_AUTO_CREATE_SCHEMA=yes"}, func(c Config) any { return c.AutoCreateSchema }, true},
		{[]string{"ADE_WORKER_AUTO_CREATE_SCHEMA=ON"}, func(c Config) any { return c.AutoCreateSchema }, true},
		{[]string{"ADE_WORKER_AUTO_CREATE_SCHEMA=True"}, func(c Config) any { return c.AutoCreateSchema }, true},
		{[]string{"ADE_WORKER_ID=worker-a"}, func(c Config) any { return c.WorkerID }, "worker-a"},
		{[]string{"ADE_WORKER_CONCURRENCY=12"}, func(c Config) any { return c.Concurrency }, 12},
		{[]string{"ADE_WORKER_CONCURRENCY= 2 "}, func(c Config) any { return c.Concurrency }, 2},
		{[]string{"ADE_WORKER_POLL_INTERVAL=0.1"}, func(c Config) any { return c.PollInterval }, 100 * time.Millisecond},
		{[]string{"ADE_WORKER_POLL_INTERVAL_MAX=10"}, func(c Config) any { return c.PollIntervalMax }, 10 * time.Second},
		{[]string{"ADE_WORKER_POLL_INTERVAL=2", "ADE_WORKER_POLL_INTERVAL_MAX=2"}, func(c Config) any { return c.PollIntervalMax }, 2 * time.Second},
		{[]string{"ADE_WORKER_MSSQL_POLL_INTERVAL=1"}, func(c Config) any { return c.MSSQLPollInterval }, time.Second},
		{[]string{"ADE_WORKER_CLEANUP_INTERVAL=1m30s"}, func(c Config) any { return c.CleanupInterval }, 90 * time.Second},
		{[]string{"ADE_WORKER_LOG_LEVEL=debug"}, func(c Config) any { return c.LogLevel }, slog.LevelDebug},
		{[]string{"ADE_WORKER_LOG_LEVEL=Warning"}, func(c Config) any { return c.LogLevel }, slog.LevelWarn},
		{[]string{"ADE_WORKER_LOG_LEVEL=WARN"}, func(c Config) any { return c.LogLevel }, slog.LevelWarn},
		{[]string{"ADE_WORKER_LOG_LEVEL=error"}, func(c Config) any { return c.LogLevel }, slog.LevelError},
		{[]string{"ADE_WORKER_LOG_FORMAT=JSON"}, func(c Config) any { return c.LogFormat }, "json"},
		{[]string{"ADE_WORKER_HTTP_ADDR=:9090"}, func(c Config) any { return c.HTTPAddr }, ":9090"},
		{[]string{"ADE_WORKER_SHUTDOWN_GRACE_SECONDS=0"}, func(c Config) any { return c.ShutdownGrace }, time.Duration(0)},
		{[]string{"ADE_WORKER_LEASE_SECONDS=60"}, func(c Config) any { return c.Lease }, time.Minute},
		{[]string{"ADE_WORKER_BACKOFF_BASE_SECONDS=0.5"}, func(c Config) any { return c.BackoffBase }, 500 * time.Millisecond},
		{[]string{"ADE_WORKER_BACKOFF_MAX_SECONDS=5"}, func(c Config) any { return c.BackoffMax }, 5 * time.Second},
		{[]string{"ADE_WORKER_MAX_ATTEMPTS_DEFAULT=1"}, func(c Config) any { return c.MaxAttemptsDefault }, 1},
		{[]string{"ADE_WORKER_ENABLE_GC=off"}, func(c Config) any { return c.EnableGC }, false},
		{[]string{"ADE_WORKER_ENABLE_GC=0"}, func(c Config) any { return c.EnableGC }, false},
		{[]string{"ADE_WORKER_ENABLE_GC=No"}, func(c Config) any { return c.EnableGC }, false},
		{[]string{"ADE_WORKER_GC_INTERVAL_SECONDS=60"}, func(c Config) any { return c.GCInterval }, time.Minute},
		{[]string{"ADE_WORKER_ENV_TTL_DAYS=0"}, func(c Config) any { return c.EnvTTLDays }, 0},
		{[]string{"ADE_WORKER_RUN_ARTIFACT_TTL_DAYS=-1"}, func(c Config) any { return c.RunArtifactTTLDays }, -1},
		{[]string{"ADE_WORKER_DATA_DIR=/var/lib/ade"}, func(c Config) any { return c.DataDir }, "/var/lib/ade"},
		{[]string{"ADE_ENGINE_PACKAGE_PATH=ade-engine==1.2.3"}, func(c Config) any { return c.EnginePackagePath }, "ade-engine==1.2.3"},
		{[]string{"ADE_WORKER_PYTHON=/usr/bin/python3.12"}, func(c Config) any { return c.Python }, "/usr/bin/python3.12"},
		{[]string{"ADE_WORKER_ENV_BUILD_TIMEOUT_SECONDS=1200"}, func(c Config) any { return c.EnvBuildTimeout }, 20 * time.Minute},
		{[]string{"ADE_WORKER_ENV_BUILD_MAX_ATTEMPTS=1"}, func(c Config) any { return c.EnvBuildMaxAttempts }, 1},
		{[]string{"ADE_WORKER_RUN_TIMEOUT_SECONDS=3600"}, func(c Config) any { return c.RunTimeout }, time.Hour},
		{[]string{"ADE_WORKER_RUN_TIMEOUT_SECONDS=0.25"}, func(c Config) any { return c.RunTimeout }, 250 * time.Millisecond},
		{[]string{"ADE_WORKER_RUN_TIMEOUT_SECONDS=0"}, func(c Config) any { return c.RunTimeout }, time.Duration(0)},
		{[]string{"ADE_WORKER_RUN_TIMEOUT_SECONDS="}, func(c Config) any { return c.RunTimeout }, time.Duration(0)},
		{[]string{"ADE_WORKER_ENGINE_ENV_PASSTHROUGH=MY_API_URL"}, func(c Config) any { return c.EngineEnvPassthrough }, []string{"MY_API_URL"}},
		{[]string{"ADE_WORKER_ENGINE_ENV_PASSTHROUGH= A , _b1,,A ,"}, func(c Config) any { return c.EngineEnvPassthrough }, []string{"A", "_b1"}},
		{[]string{"ADE_WORKER_ENGINE_ENV_PASSTHROUGH=,"}, func(c Config) any { return c.EngineEnvPassthrough }, []string(nil)},
		// Empty means unset, so the default applies.
		{[]string{"ADE_WORKER_LEASE_SECONDS="}, func(c Config) any { return c.Lease }, 900 * time.Second},
		{[]string{"ADE_WORKER_LEASE_SECONDS=   "}, func(c Config) any { return c.Lease }, 900 * time.Second},
		{[]string{"ADE_WORKER_CONCURRENCY="}, func(c Config) any { return c.Concurrency }, DefaultConcurrency(runtime.NumCPU())},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.env, ","), func(t *testing.T) {
			got := tt.get(mustLoad(t, tt.env...))
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestLoadInvalid(t *testing.T) {
	inEmptyDir(t)
	tests := []struct {
		env     []string
		wantVar string
		wantMsg string // the exact message
	}{
		{[]string{"ADE_WORKER_CONCURRENCY=abc"}, "ADE_WORKER_CONCURRENCY", `ADE_WORKER_CONCURRENCY: "abc" is not a whole number`},
		{[]string{"ADE_WORKER_CONCURRENCY=0"}, "ADE_WORKER_CONCURRENCY", `ADE_WORKER_CONCURRENCY: "0" must be at least 1`},
		{[]string{"ADE_WORKER_CONCURRENCY=-2"}, "ADE_WORKER_CONCURRENCY", `ADE_WORKER_CONCURRENCY: "-2" must be at least 1`},
		{[]string{"ADE_WORKER_CONCURRENCY=2.5"}, "ADE_WORKER_CONCURRENCY", `ADE_WORKER_CONCURRENCY: "2.5" is not a whole number`},
		{[]string{"ADE_WORKER_CONCURRENCY=99999999999999999999"}, "ADE_WORKER_CONCURRENCY", `ADE_WORKER_CONCURRENCY: "99999999999999999999" is too large`},
		{[]string{"ADE_WORKER_LEASE_SECONDS=0"}, "ADE_WORKER_LEASE_SECONDS", `ADE_WORKER_LEASE_SECONDS: "0" must be more than 0 seconds`},
		{[]string{"ADE_WORKER_LEASE_SECONDS=-5"}, "ADE_WORKER_LEASE_SECONDS", `ADE_WORKER_LEASE_SECONDS: "-5" must be more than 0 seconds`},
		{[]string{"ADE_WORKER_LEASE_SECONDS=soon"}, "ADE_WORKER_LEASE_SECONDS", `ADE_WORKER_LEASE_SECONDS: "soon" is not a number of seconds (e.g. "30" or "0.5")`},
		{[]string{"ADE_WORKER_LEASE_SECONDS=NaN"}, "ADE_WORKER_LEASE_SECONDS", `ADE_WORKER_LEASE_SECONDS: "NaN" is not a number of seconds (e.g. "30" or "0.5")`},
		{[]string{"ADE_WORKER_LEASE_SECONDS=inf"}, "ADE_WORKER_LEASE_SECONDS", `ADE_WORKER_LEASE_SECONDS: "inf" is not a number of seconds (e.g. "30" or "0.5")`},
		{[]string{"ADE_WORKER_LEASE_SECONDS=0x10"}, "ADE_WORKER_LEASE_SECONDS", `ADE_WORKER_LEASE_SECONDS: "0x10" is not a number of seconds (e.g. "30" or "0.5")`},
		{[]string{"ADE_WORKER_LEASE_SECONDS=1e300"}, "ADE_WORKER_LEASE_SECONDS", `ADE_WORKER_LEASE_SECONDS: "1e300" is too large`},
		{[]string{"ADE_WORKER_LEASE_SECONDS=1e400"}, "ADE_WORKER_LEASE_SECONDS", `ADE_WORKER_LEASE_SECONDS: "1e400" is too large`},
		{[]string{"ADE_WORKER_POLL_INTERVAL=0"}, "ADE_WORKER_POLL_INTERVAL", `ADE_WORKER_POLL_INTERVAL: "0" must be more than 0 seconds`},
		{[]string{"ADE_WORKER_POLL_INTERVAL=3"}, "ADE_WORKER_POLL_INTERVAL_MAX", `ADE_WORKER_POLL_INTERVAL_MAX: must not be less than ADE_WORKER_POLL_INTERVAL (3s)`},
		{[]string{"ADE_WORKER_POLL_INTERVAL_MAX=0.1"}, "ADE_WORKER_POLL_INTERVAL_MAX", `ADE_WORKER_POLL_INTERVAL_MAX: "0.1" must not be less than ADE_WORKER_POLL_INTERVAL (0.5s)`},
		{[]string{"ADE_WORKER_MSSQL_POLL_INTERVAL=0"}, "ADE_WORKER_MSSQL_POLL_INTERVAL", `ADE_WORKER_MSSQL_POLL_INTERVAL: "0" must be more than 0 seconds`},
		{[]string{"ADE_WORKER_CLEANUP_INTERVAL=-1"}, "ADE_WORKER_CLEANUP_INTERVAL", `ADE_WORKER_CLEANUP_INTERVAL: "-1" must be more than 0 seconds`},
		{[]string{"ADE_WORKER_LOG_LEVEL=verbose"}, "ADE_WORKER_LOG_LEVEL", `ADE_WORKER_LOG_LEVEL: "verbose" is not a log level (use DEBUG, INFO, WARNING or ERROR)`},
		{[]string{"ADE_WORKER_LOG_LEVEL=INFO+2"}, "ADE_WORKER_LOG_LEVEL", `ADE_WORKER_LOG_LEVEL: "INFO+2" is not a log level (use DEBUG, INFO, WARNING or ERROR)`},
		{[]string{"ADE_WORKER_LOG_FORMAT=xml"}, "ADE_WORKER_LOG_FORMAT", `ADE_WORKER_LOG_FORMAT: "xml" is not a log format (use text or json)`},
		{[]string{"ADE_WORKER_HTTP_ADDR=9090"}, "ADE_WORKER_HTTP_ADDR", `ADE_WORKER_HTTP_ADDR: "9090" is not host:port (e.g. ":9090" or "127.0.0.1:9090")`},
		{[]string{"ADE_WORKER_SHUTDOWN_GRACE_SECONDS=-1"}, "ADE_WORKER_SHUTDOWN_GRACE_SECONDS", `ADE_WORKER_SHUTDOWN_GRACE_SECONDS: "-1" must not be negative`},
		{[]string{"ADE_WORKER_BACKOFF_BASE_SECONDS=-1"}, "ADE_WORKER_BACKOFF_BASE_SECONDS", `ADE_WORKER_BACKOFF_BASE_SECONDS: "-1" must not be negative`},
		{[]string{"ADE_WORKER_BACKOFF_MAX_SECONDS=1"}, "ADE_WORKER_BACKOFF_MAX_SECONDS", `ADE_WORKER_BACKOFF_MAX_SECONDS: "1" must not be less than ADE_WORKER_BACKOFF_BASE_SECONDS (5s)`},
		{[]string{"ADE_WORKER_MAX_ATTEMPTS_DEFAULT=0"}, "ADE_WORKER_MAX_ATTEMPTS_DEFAULT", `ADE_WORKER_MAX_ATTEMPTS_DEFAULT: "0" must be at least 1`},
		{[]string{"ADE_WORKER_ENABLE_GC=maybe"}, "ADE_WORKER_ENABLE_GC", `ADE_WORKER_ENABLE_GC: "maybe" is not a boolean (use 1/0, true/false, yes/no or on/off)`},
		{[]string{"ADE_WORKER_AUTO_CREATE_SCHEMA=2"}, "ADE_WORKER_AUTO_CREATE_SCHEMA", `ADE_WORKER_AUTO_CREATE_SCHEMA: "2" is not a boolean (use 1/0, true/false, yes/no or on/off)`},
		{[]string{"ADE_WORKER_GC_INTERVAL_SECONDS=0"}, "ADE_WORKER_GC_INTERVAL_SECONDS", `ADE_WORKER_GC_INTERVAL_SECONDS: "0" must be more than 0 seconds`},
		{[]string{"ADE_WORKER_ENV_TTL_DAYS=-1"}, "ADE_WORKER_ENV_TTL_DAYS", `ADE_WORKER_ENV_TTL_DAYS: "-1" must not be negative`},
		{[]string{"ADE_WORKER_ENV_TTL_DAYS=1.5"}, "ADE_WORKER_ENV_TTL_DAYS", `ADE_WORKER_ENV_TTL_DAYS: "1.5" is not a whole number`},
		{[]string{"ADE_WORKER_RUN_ARTIFACT_TTL_DAYS=x"}, "ADE_WORKER_RUN_ARTIFACT_TTL_DAYS", `ADE_WORKER_RUN_ARTIFACT_TTL_DAYS: "x" is not a whole number`},
		{[]string{"ADE_WORKER_ENV_BUILD_TIMEOUT_SECONDS=0"}, "ADE_WORKER_ENV_BUILD_TIMEOUT_SECONDS", `ADE_WORKER_ENV_BUILD_TIMEOUT_SECONDS: "0" must be more than 0 seconds`},
		{[]string{"ADE_WORKER_ENV_BUILD_MAX_ATTEMPTS=0"}, "ADE_WORKER_ENV_BUILD_MAX_ATTEMPTS", `ADE_WORKER_ENV_BUILD_MAX_ATTEMPTS: "0" must be at least 1`},
		{[]string{"ADE_WORKER_RUN_TIMEOUT_SECONDS=-3"}, "ADE_WORKER_RUN_TIMEOUT_SECONDS", `ADE_WORKER_RUN_TIMEOUT_SECONDS: "-3" must not be negative (leave it unset for no timeout)`},
		{[]string{"ADE_WORKER_RUN_TIMEOUT_SECONDS=forever"}, "ADE_WORKER_RUN_TIMEOUT_SECONDS", `ADE_WORKER_RUN_TIMEOUT_SECONDS: "forever" is not a number of seconds (e.g. "30" or "0.5")`},
		{[]string{"ADE_WORKER_ENGINE_ENV_PASSTHROUGH=A,B-C"}, "ADE_WORKER_ENGINE_ENV_PASSTHROUGH", `ADE_WORKER_ENGINE_ENV_PASSTHROUGH: "A,B-C" names "B-C", which is not a variable name (letters, digits and _, not starting with a digit)`},
		{[]string{"ADE_WORKER_ENGINE_ENV_PASSTHROUGH=1A"}, "ADE_WORKER_ENGINE_ENV_PASSTHROUGH", `ADE_WORKER_ENGINE_ENV_PASSTHROUGH: "1A" names "1A", which is not a variable name (letters, digits and _, not starting with a digit)`},
		{[]string{"ADE_WORKER_ENGINE_ENV_PASSTHROUGH=X,ade_database_url"}, "ADE_WORKER_ENGINE_ENV_PASSTHROUGH", `ADE_WORKER_ENGINE_ENV_PASSTHROUGH: "X,ade_database_url" names ade_database_url, a database setting of the worker, which never reaches the engine`},
		{[]string{"ADE_DATABASE_AUTH_MODE=kerberos"}, "ADE_DATABASE_AUTH_MODE", `ADE_DATABASE_AUTH_MODE: "kerberos" is not an auth mode (use sql_password or managed_identity)`},
		{[]string{"ADE_DATABASE_SQLITE_JOURNAL_MODE=fast"}, "ADE_DATABASE_SQLITE_JOURNAL_MODE", `ADE_DATABASE_SQLITE_JOURNAL_MODE: "fast" is not a SQLite journal mode (use DELETE, TRUNCATE, PERSIST, MEMORY, WAL or OFF)`},
		{[]string{"ADE_DATABASE_SQLITE_SYNCHRONOUS=2"}, "ADE_DATABASE_SQLITE_SYNCHRONOUS", `ADE_DATABASE_SQLITE_SYNCHRONOUS: "2" is not a SQLite synchronous level (use OFF, NORMAL, FULL or EXTRA)`},
		{[]string{"ADE_DATABASE_SQLITE_BUSY_TIMEOUT_MS=-1"}, "ADE_DATABASE_SQLITE_BUSY_TIMEOUT_MS", `ADE_DATABASE_SQLITE_BUSY_TIMEOUT_MS: "-1" must not be negative`},
		{[]string{"ADE_DATABASE_SQLITE_BUSY_TIMEOUT_MS=1s"}, "ADE_DATABASE_SQLITE_BUSY_TIMEOUT_MS", `ADE_DATABASE_SQLITE_BUSY_TIMEOUT_MS: "1s" is not a whole number`},
		{[]string{"ADE_DATABASE_POOL_SIZE=0"}, "ADE_DATABASE_POOL_SIZE", `ADE_DATABASE_POOL_SIZE: "0" must be at least 1`},
		{[]string{"ADE_DATABASE_MAX_OVERFLOW=-1"}, "ADE_DATABASE_MAX_OVERFLOW", `ADE_DATABASE_MAX_OVERFLOW: "-1" must not be negative`},
		{[]string{"ADE_DATABASE_POOL_TIMEOUT=0"}, "ADE_DATABASE_POOL_TIMEOUT", `ADE_DATABASE_POOL_TIMEOUT: "0" must be more than 0 seconds`},
		{[]string{"ADE_DATABASE_POOL_RECYCLE=-1"}, "ADE_DATABASE_POOL_RECYCLE", `ADE_DATABASE_POOL_RECYCLE: "-1" must not be negative (0 means the 25-minute cap)`},
		{[]string{"ADE_WORKER_ID=a\x01b"}, "ADE_WORKER_ID", `ADE_WORKER_ID: "a\x01b" contains control characters`},
		{[]string{"ADE_WORKER_ID=" + strings.Repeat("w", 256)}, "ADE_WORKER_ID", `ADE_WORKER_ID: "` + strings.Repeat("w", 256) + `" is longer than 255 bytes`},
		{[]string{"ADE_DATABASE_URL=postgresql://u:p@h/db"}, "ADE_DATABASE_URL", `ADE_DATABASE_URL: has an unsupported scheme (expected sqlite:///path or mssql+pyodbc://...)`},
		{[]string{"ADE_DATABASE_URL=just-a-path.db"}, "ADE_DATABASE_URL", `ADE_DATABASE_URL: is not a URL (expected sqlite:///path or mssql+pyodbc://...)`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.env, ","), func(t *testing.T) {
			_, err := Load(tt.env)
			var cfgErr *Error
			if !errors.As(err, &cfgErr) {
				t.Fatalf("Load error = %v (%T), want *config.Error", err, err)
			}
			if cfgErr.Var != tt.wantVar {
				t.Errorf("Var = %q, want %q", cfgErr.Var, tt.wantVar)
			}
			if err.Error() != tt.wantMsg {
				t.Errorf("message\n got %s\nwant %s", err, tt.wantMsg)
			}
		})
	}
}

func TestLoadNeverEchoesSecrets(t *testing.T) {
	inEmptyDir(t)
	for _, env := range [][]string{
		{"ADE_DATABASE_URL=postgresql://ade:hunter2@db/ade"},
		{"ADE_DATABASE_URL=hunter2"},
		{"ADE_DATABASE_URL=hunter2://x"},
		{"ADE_DATABASE_URL=" + strings.Repeat("hunter2", 10) + "://x"},
	} {
		_, err := Load(env)
		if err == nil {
			t.Fatalf("Load(%q) succeeded, want an error", env)
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("Load(%q) error leaks the secret: %v", env, err)
		}
		var cfgErr *Error
		if errors.As(err, &cfgErr) && cfgErr.Value != "" {
			t.Errorf("Error.Value = %q, want empty for a secret", cfgErr.Value)
		}
	}
}

func TestEnvFile(t *testing.T) {
	dir := inEmptyDir(t)
	file := filepath.Join(dir, "worker.env")
	writeFile(t, file, "# comment\nADE_WORKER_LEASE_SECONDS=60\nADE_WORKER_ID=from-file\nexport ADE_WORKER_CONCURRENCY=7\nADE_WORKER_ENABLE_GC=\"0\"\n")

	t.Run("file fills what the environment leaves unset", func(t *testing.T) {
		cfg := mustLoad(t, "ADE_ENV_FILE="+file, "ADE_WORKER_ID=from-env")
		if cfg.WorkerID != "from-env" {
			t.Errorf("WorkerID = %q, want the environment's value", cfg.WorkerID)
		}
		if cfg.Lease != time.Minute || cfg.Concurrency != 7 || cfg.EnableGC {
			t.Errorf("file values not applied: lease %v, concurrency %d, gc %v", cfg.Lease, cfg.Concurrency, cfg.EnableGC)
		}
		if cfg.EnvFile != file {
			t.Errorf("EnvFile = %q, want %q", cfg.EnvFile, file)
		}
	})
	t.Run("a variable set empty in the environment still wins", func(t *testing.T) {
		cfg := mustLoad(t, "ADE_ENV_FILE="+file, "ADE_WORKER_LEASE_SECONDS=")
		if cfg.Lease != 900*time.Second {
			t.Errorf("Lease = %v, want the default: an empty variable is set, so the file does not supply it", cfg.Lease)
		}
	})
	t.Run("an explicit missing file is an error", func(t *testing.T) {
		_, err := Load([]string{"ADE_ENV_FILE=" + filepath.Join(dir, "nope.env")})
		var cfgErr *Error
		if !errors.As(err, &cfgErr) || cfgErr.Var != "ADE_ENV_FILE" || !strings.Contains(err.Error(), "does not exist") {
			t.Fatalf("err = %v, want an ADE_ENV_FILE error saying the file does not exist", err)
		}
	})
	t.Run("./.env is read when present", func(t *testing.T) {
		writeFile(t, filepath.Join(dir, ".env"), "ADE_WORKER_PYTHON=/opt/py/bin/python\n")
		defer os.Remove(filepath.Join(dir, ".env"))
		cfg := mustLoad(t)
		if cfg.Python != "/opt/py/bin/python" || cfg.EnvFile != ".env" {
			t.Errorf("Python = %q, EnvFile = %q; want the ./.env values", cfg.Python, cfg.EnvFile)
		}
	})
	t.Run("no ./.env is fine", func(t *testing.T) {
		cfg := mustLoad(t)
		if cfg.EnvFile != "" {
			t.Errorf("EnvFile = %q, want empty", cfg.EnvFile)
		}
	})
	t.Run("values from the file are validated too", func(t *testing.T) {
		bad := filepath.Join(dir, "bad.env")
		writeFile(t, bad, "ADE_WORKER_CONCURRENCY=lots\n")
		_, err := Load([]string{"ADE_ENV_FILE=" + bad})
		var cfgErr *Error
		if !errors.As(err, &cfgErr) || cfgErr.Var != "ADE_WORKER_CONCURRENCY" {
			t.Fatalf("err = %v, want an ADE_WORKER_CONCURRENCY error", err)
		}
		// The message says where the value was set: the file, not the
		// environment the operator would look at first.
		if want := `ADE_WORKER_CONCURRENCY: "lots" is not a whole number (set in ` + bad + ")"; err.Error() != want {
			t.Errorf("err = %q, want %q", err, want)
		}
		_, err = Load([]string{"ADE_ENV_FILE=" + bad, "ADE_WORKER_CONCURRENCY=many"})
		if err == nil || strings.Contains(err.Error(), "set in") || !strings.Contains(err.Error(), `"many"`) {
			t.Errorf("err = %v, want the environment's value, with no file named", err)
		}
	})
	t.Run("./.env is named when a value from it is bad", func(t *testing.T) {
		writeFile(t, filepath.Join(dir, ".env"), "ADE_WORKER_LEASE_SECONDS=soon\n")
		defer os.Remove(filepath.Join(dir, ".env"))
		_, err := Load(nil)
		if err == nil || !strings.HasSuffix(err.Error(), " (set in ./.env)") || !strings.Contains(err.Error(), "ADE_WORKER_LEASE_SECONDS") {
			t.Errorf("err = %v, want ADE_WORKER_LEASE_SECONDS set in ./.env", err)
		}
	})
	t.Run("an unparsable file is an error that quotes none of it", func(t *testing.T) {
		bad := filepath.Join(dir, "broken.env")
		writeFile(t, bad, "ADE_DATABASE_URL=mssql://sa:hunter2@db\nnot a valid line $$ hunter2\n")
		_, err := Load([]string{"ADE_ENV_FILE=" + bad})
		var cfgErr *Error
		if !errors.As(err, &cfgErr) || cfgErr.Var != "ADE_ENV_FILE" {
			t.Fatalf("err = %v, want an ADE_ENV_FILE error", err)
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("error leaks file content: %v", err)
		}
	})
}

func writeFile(t *testing.T, name, content string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestMaskURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"sqlite:///./data/db/ade.sqlite", "sqlite:///./data/db/ade.sqlite"},
		{"sqlite:////abs/x@y/ade.sqlite", "sqlite:////abs/x@y/ade.sqlite"},
		{"mssql+pyodbc://sa:s3cret@db:1433/ade?driver=ODBC+Driver+18", "mssql+pyodbc://sa:***@db:1433/ade?driver=ODBC+Driver+18"},
		{"mssql+pyodbc://sa@db/ade", "mssql+pyodbc://sa@db/ade"},
		{"mssql://sa:p@ss:w/rd@db/ade", "mssql://sa:***@db/ade"},
		{"mssql://sa:p?w@db/ade", "mssql://sa:***@db/ade"},
		{"mssql://sa:@db/ade", "mssql://sa:***@db/ade"},
		{"mssql://db/ade?user=sa&password=s3cret&encrypt=yes", "mssql://db/ade?user=sa&password=***&encrypt=yes"},
		{"Driver={ODBC Driver 18};Server=db;UID=sa;PWD=s3cret;Encrypt=yes", "Driver={ODBC Driver 18};Server=db;UID=sa;PWD=***;Encrypt=yes"},
		{"Server=db;User Id=sa;Password=s3cret", "Server=db;User Id=sa;Password=***"},
		{"Server=db;Password = s3cret ;x=1", "Server=db;Password = ***;x=1"},
		{"Server=db;PWD={a;b}}c};Encrypt=yes", "Server=db;PWD=***;Encrypt=yes"},
		{"Server=db;PWD={unterminated;Encrypt=yes", "Server=db;PWD=***"},
		{"mssql+pyodbc:///?odbc_connect=Driver%3D%7BODBC+Driver+18%7D%3BServer%3Ddb%3BPWD%3Ds3cret%3BEncrypt%3Dyes", "mssql+pyodbc:///?odbc_connect=Driver%3D%7BODBC+Driver+18%7D%3BServer%3Ddb%3BPWD%3D***%3BEncrypt%3Dyes"},
		{"mssql+pyodbc:///?odbc_connect=PWD%3D%7Bs3%3Bcret%7D%3BX%3D1", "mssql+pyodbc:///?odbc_connect=PWD%3D***%3BX%3D1"},
		{"mssql://db/?client_secret=s3cret&access_token=s3cret", "mssql://db/?client_secret=***&access_token=***"},
		{"mssql://sa:s3cret@db/?Password=s3cret", "mssql://sa:***@db/?Password=***"},
		{"", ""},
		{"%", "%"},
		{"pwd=%3", "pwd=***"},
	}
	for _, tt := range tests {
		if got := MaskURL(tt.in); got != tt.want {
			t.Errorf("MaskURL(%q)\n got %q\nwant %q", tt.in, got, tt.want)
		}
		if strings.Contains(MaskURL(tt.in), "s3cret") || strings.Contains(MaskURL(tt.in), "cret}") {
			t.Errorf("MaskURL(%q) leaks the password", tt.in)
		}
		if got := MaskURL(MaskURL(tt.in)); got != MaskURL(tt.in) {
			t.Errorf("MaskURL is not idempotent on %q: %q", tt.in, got)
		}
	}
}

// FuzzMaskURL checks that the masked text does not depend on the password:
// two strings that differ only in the password mask to the same output.
func FuzzMaskURL(f *testing.F) {
	f.Add("", "s3cret")
	f.Add("Server=db;", "a}}b")
	f.Add("mssql://x/?", "p:w/d")
	f.Fuzz(func(t *testing.T, prefix, password string) {
		if password == "" || strings.ContainsAny(password, "@?&;%{}= \t\r\n\f\v") {
			return
		}
		forms := []func(string) string{
			func(p string) string { return prefix + "mssql://user:" + p + "@host/db" },
			func(p string) string { return prefix + ";PWD=" + p + ";x=1" },
			func(p string) string { return prefix + ";Password={" + p + "};x=1" },
		}
		for _, form := range forms {
			a, b := MaskURL(form(password)), MaskURL(form("zz"))
			if a != b {
				t.Errorf("masking depends on the password:\n%q -> %q\n%q -> %q", form(password), a, form("zz"), b)
			}
		}
	})
}

func TestDocumentedMatchesConfig(t *testing.T) {
	documented := map[string]Setting{}
	for _, s := range Documented() {
		if _, dup := documented[s.Name]; dup {
			t.Errorf("%s documented twice", s.Name)
		}
		if s.Meaning == "" {
			t.Errorf("%s has no meaning", s.Name)
		}
		documented[s.Name] = s
	}

	typ := reflect.TypeFor[Config]()
	var order []string
	for i := range typ.NumField() {
		f := typ.Field(i)
		name := envName(f)
		if name == "" {
			t.Errorf("field %s has no env tag", f.Name)
			continue
		}
		order = append(order, name)
		s, ok := documented[name]
		if !ok {
			t.Errorf("%s (field %s) is missing from Documented()", name, f.Name)
			continue
		}
		if def, has := f.Tag.Lookup("envDefault"); has && def != s.Default {
			t.Errorf("%s: Documented default %q, envDefault tag %q", name, s.Default, def)
		}
		delete(documented, name)
	}
	for name := range documented {
		t.Errorf("%s is documented but no Config field reads it", name)
	}
	var docOrder []string
	for _, s := range Documented() {
		docOrder = append(docOrder, s.Name)
	}
	if !reflect.DeepEqual(order, docOrder) {
		t.Errorf("Documented() order differs from Config field order")
	}
}

func TestLogValueMasksSecrets(t *testing.T) {
	inEmptyDir(t)
	cfg := mustLoad(t, "ADE_DATABASE_URL=mssql+pyodbc://sa:hunter2@db/ade", "ADE_WORKER_LOG_LEVEL=warning")

	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("start", "config", cfg)
	out := buf.String()
	if strings.Contains(out, "hunter2") {
		t.Fatalf("log leaks the password: %s", out)
	}
	for _, s := range Documented() {
		if !strings.Contains(out, `"`+s.Name+`"`) {
			t.Errorf("log misses %s: %s", s.Name, out)
		}
	}
	for _, want := range []string{`"ADE_DATABASE_URL":"mssql+pyodbc://sa:***@db/ade"`, `"ADE_WORKER_LOG_LEVEL":"WARNING"`, `"ADE_WORKER_LEASE_SECONDS":"15m0s"`, `"ADE_WORKER_ENABLE_GC":true`} {
		if !strings.Contains(out, want) {
			t.Errorf("log misses %s: %s", want, out)
		}
	}
	for _, printed := range []string{fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg)} {
		if strings.Contains(printed, "hunter2") || !strings.Contains(printed, `ADE_DATABASE_URL="mssql+pyodbc://sa:***@db/ade"`) {
			t.Errorf("fmt leaks or misses the URL: %s", printed)
		}
	}
	if got := len(cfg.Redacted()); got != len(Documented()) {
		t.Errorf("Redacted() has %d attrs, want %d", got, len(Documented()))
	}
}

func TestBackoff(t *testing.T) {
	cfg := Config{BackoffBase: 5 * time.Second, BackoffMax: 300 * time.Second}
	for attempt, want := range map[int]time.Duration{
		0: 5 * time.Second, 1: 5 * time.Second, 2: 10 * time.Second, 3: 20 * time.Second,
		6: 160 * time.Second, 7: 300 * time.Second, 1000: 300 * time.Second,
	} {
		if got := cfg.Backoff(attempt); got != want {
			t.Errorf("Backoff(%d) = %v, want %v", attempt, got, want)
		}
	}
	huge := Config{BackoffBase: time.Duration(1 << 61), BackoffMax: time.Duration(1<<63 - 1)}
	if got := huge.Backoff(10); got != huge.BackoffMax {
		t.Errorf("Backoff overflowed: %v", got)
	}
	zero := Config{BackoffMax: time.Second}
	if got := zero.Backoff(5); got != 0 {
		t.Errorf("zero base Backoff = %v, want 0", got)
	}
}
