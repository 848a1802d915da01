package config

import (
	"log/slog"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// Setting describes one environment variable for people. The README's
// settings table is checked against Documented (readme_test.go): every
// setting Load reads is there with its default, so the documentation cannot
// drift from the code.
type Setting struct {
	Name    string // the environment variable
	Default string // the default as text; computed defaults are described
	Meaning string // one line on what it controls
}

// Documented lists every setting Load reads, in the order of Config.
func Documented() []Setting {
	return []Setting{
		{"ADE_ENV_FILE", "./.env when present", "A .env file read first; the environment wins over it. Naming a missing file is an error."},
		{"ADE_DATABASE_URL", "sqlite:///<data dir>/db/ade.sqlite", "Database URL as the ADE API uses it: sqlite:///path or mssql+pyodbc://..."},
		{"ADE_DATABASE_AUTH_MODE", "sql_password", "sql_password (credentials in the URL) or managed_identity (SQL Server with an Azure identity)."},
		{"ADE_DATABASE_MI_CLIENT_ID", "", "Client id of a user-assigned managed identity; empty uses the system-assigned one."},
		{"ADE_DATABASE_SQLITE_JOURNAL_MODE", "WAL", "SQLite journal_mode: DELETE, TRUNCATE, PERSIST, MEMORY, WAL or OFF."},
		{"ADE_DATABASE_SQLITE_SYNCHRONOUS", "NORMAL", "SQLite synchronous: OFF, NORMAL, FULL or EXTRA."},
		{"ADE_DATABASE_SQLITE_BUSY_TIMEOUT_MS", "30000", "How long SQLite waits on a locked database, in milliseconds."},
		{"ADE_DATABASE_POOL_SIZE", "5", "Idle database connections kept open."},
		{"ADE_DATABASE_MAX_OVERFLOW", "10", "Connections allowed beyond the pool size under load."},
		{"ADE_DATABASE_POOL_TIMEOUT", "30", "Seconds to wait for the database when connecting (at start-up and for each new connection)."},
		{"ADE_DATABASE_POOL_RECYCLE", "1800", "Seconds a SQL Server connection is reused before it is replaced, capped at 25 minutes (Azure drops idle connections at 30); 0 means the cap."},
		{"ADE_WORKER_AUTO_CREATE_SCHEMA", "0", "Apply the schema migrations at start-up."},
		{"ADE_WORKER_ID", "<host name>-<random>", "Identity written to claimed_by; must differ between workers."},
		{"ADE_WORKER_CONCURRENCY", "max(1, min(4, CPUs/2))", "Runs and builds one worker does at once."},
		{"ADE_WORKER_POLL_INTERVAL", "0.5", "Seconds between polls while work is found."},
		{"ADE_WORKER_POLL_INTERVAL_MAX", "2", "Longest wait in seconds between polls of an idle queue."},
		{"ADE_WORKER_MSSQL_POLL_INTERVAL", "0.25", "Shortest wait in seconds between polls on SQL Server."},
		{"ADE_WORKER_CLEANUP_INTERVAL", "30", "Seconds between sweeps of expired leases."},
		{"ADE_WORKER_LOG_LEVEL", "INFO", "DEBUG, INFO, WARNING or ERROR: the worker's log level, and the engine's for runs whose options name none."},
		{"ADE_WORKER_LOG_FORMAT", "text", "text for people, json for log collectors."},
		{"ADE_WORKER_HTTP_ADDR", "", "host:port serving health and metrics; empty turns it off."},
		{"ADE_WORKER_SHUTDOWN_GRACE_SECONDS", "30", "Seconds running work may finish after a stop signal."},
		{"ADE_WORKER_LEASE_SECONDS", "900", "Seconds a claim holds without a heartbeat; heartbeats come every third of it."},
		{"ADE_WORKER_BACKOFF_BASE_SECONDS", "5", "First retry delay in seconds; it doubles with each attempt."},
		{"ADE_WORKER_BACKOFF_MAX_SECONDS", "300", "Longest retry delay in seconds."},
		{"ADE_WORKER_MAX_ATTEMPTS_DEFAULT", "3", "Attempts for a run whose max_attempts is not set."},
		{"ADE_WORKER_ENABLE_GC", "1", "Collect cold environments and old run folders; enable on exactly one worker."},
		{"ADE_WORKER_GC_INTERVAL_SECONDS", "3600", "Seconds between garbage collection passes."},
		{"ADE_WORKER_ENV_TTL_DAYS", "30", "Days an unused environment of an inactive configuration is kept."},
		{"ADE_WORKER_RUN_ARTIFACT_TTL_DAYS", "30", "Days the folder of a finished run is kept; 0 or less keeps them."},
		{"ADE_WORKER_DATA_DIR", "./data", "Data folder shared with the ADE API."},
		{"ADE_ENGINE_PACKAGE_PATH", "apps/ade-engine", "Engine for new environments: a local folder (installed editable) or a pip requirement."},
		{"ADE_WORKER_PYTHON", "python3", "Interpreter that creates the virtual environments."},
		{"ADE_WORKER_ENV_BUILD_TIMEOUT_SECONDS", "600", "Seconds one environment build may take."},
		{"ADE_WORKER_ENV_BUILD_MAX_ATTEMPTS", "3", "Tries of a failing environment build before its waiting runs fail."},
		{"ADE_WORKER_RUN_TIMEOUT_SECONDS", "", "Seconds one engine run may take; unset, empty or 0 means no limit."},
		{"ADE_WORKER_ENGINE_ENV_PASSTHROUGH", "", "Comma-separated names of further variables the engine and environment builds receive from the worker's environment."},
	}
}

// LogValue prints every effective setting, keyed by its variable, with
// secrets masked, so the start-up log shows exactly what the worker runs
// with and is safe to paste into a ticket.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(c.Redacted()...)
}

// Redacted is every effective setting as log attributes, in the order of
// Documented, with the database URL's password and any other secret masked.
func (c Config) Redacted() []slog.Attr {
	v := reflect.ValueOf(c)
	t := v.Type()
	attrs := make([]slog.Attr, 0, t.NumField())
	for i := range t.NumField() {
		name := envName(t.Field(i))
		if name == "" {
			continue
		}
		attrs = append(attrs, slog.Attr{Key: name, Value: redactedValue(name, v.Field(i).Interface())})
	}
	return attrs
}

// String prints the settings as KEY=value pairs with secrets masked, so a
// Config printed with fmt by mistake leaks nothing either.
func (c Config) String() string {
	var b strings.Builder
	for i, a := range c.Redacted() {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(a.Key)
		b.WriteByte('=')
		b.WriteString(strconv.Quote(a.Value.String()))
	}
	return b.String()
}

// GoString is String, for the %#v verb.
func (c Config) GoString() string { return "config.Config{" + c.String() + "}" }

func redactedValue(name string, value any) slog.Value {
	switch x := value.(type) {
	case string:
		switch {
		case name == "ADE_DATABASE_URL":
			return slog.StringValue(MaskURL(x))
		case isSecret(name) && x != "":
			return slog.StringValue("***")
		}
		return slog.StringValue(x)
	case time.Duration:
		return slog.StringValue(x.String())
	case slog.Level:
		if x == slog.LevelWarn {
			return slog.StringValue("WARNING")
		}
		return slog.StringValue(x.String())
	}
	return slog.AnyValue(value)
}
