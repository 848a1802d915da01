// Package config reads the worker's settings from environment variables and
// an optional .env file, applies the defaults that existing ADE deployments
// rely on, and rejects every value the worker could not run with before any
// work is claimed.
//
// Load is pure with respect to the process environment: it takes the
// environment as a KEY=VALUE list, so the binary passes os.Environ() and tests
// pass whatever they need without touching global state.
package config

import (
	"log/slog"
	"time"
)

// Config is every setting of the worker, already validated and normalized.
//
// Fields carrying an `env` tag are read from the variable of that name; the
// `envDefault` tag is the value used when the variable is unset or empty.
// Settings whose default is computed (database URL, worker id, concurrency)
// have no envDefault and are filled in by Load. Durations given in seconds
// accept fractions ("0.5") and Go duration text ("1m30s").
type Config struct {
	// EnvFile is the .env file that was loaded, or "" when none was. Default:
	// ./.env when it exists; naming a missing file is an error.
	EnvFile string `env:"ADE_ENV_FILE"`

	// DatabaseURL is the SQLAlchemy-style URL the ADE API also uses:
	// sqlite:///path or mssql+pyodbc://... Default:
	// sqlite:///<DataDir>/db/ade.sqlite. It may hold a password: log it only
	// through MaskURL or Config.LogValue.
	DatabaseURL string `env:"ADE_DATABASE_URL"`
	// DatabaseAuthMode is "sql_password" (credentials in the URL) or
	// "managed_identity" (an Azure token for SQL Server).
	DatabaseAuthMode string `env:"ADE_DATABASE_AUTH_MODE" envDefault:"sql_password"`
	// DatabaseMIClientID picks a user-assigned managed identity; empty means
	// the system-assigned one.
	DatabaseMIClientID string `env:"ADE_DATABASE_MI_CLIENT_ID"`
	// SQLiteJournalMode is the SQLite journal_mode pragma, upper-cased.
	SQLiteJournalMode string `env:"ADE_DATABASE_SQLITE_JOURNAL_MODE" envDefault:"WAL"`
	// SQLiteSynchronous is the SQLite synchronous pragma, upper-cased.
	SQLiteSynchronous string `env:"ADE_DATABASE_SQLITE_SYNCHRONOUS" envDefault:"NORMAL"`
	// SQLiteBusyTimeoutMS is how long SQLite waits on a locked database, in
	// milliseconds, as the pragma takes it. See SQLiteBusyTimeout.
	SQLiteBusyTimeoutMS int `env:"ADE_DATABASE_SQLITE_BUSY_TIMEOUT_MS" envDefault:"30000"`
	// DatabasePoolSize is the number of idle connections kept open.
	DatabasePoolSize int `env:"ADE_DATABASE_POOL_SIZE" envDefault:"5"`
	// DatabaseMaxOverflow is how many connections may be opened beyond
	// DatabasePoolSize under load.
	DatabaseMaxOverflow int `env:"ADE_DATABASE_MAX_OVERFLOW" envDefault:"10"`
	// DatabasePoolTimeout bounds the wait for a free connection.
	DatabasePoolTimeout time.Duration `env:"ADE_DATABASE_POOL_TIMEOUT" envDefault:"30"`
	// DatabasePoolRecycle is the longest a SQL Server connection is reused.
	// The store caps it at 25 minutes, below Azure SQL's 30-minute idle
	// cut-off, so 0 (and anything longer) means the cap.
	DatabasePoolRecycle time.Duration `env:"ADE_DATABASE_POOL_RECYCLE" envDefault:"1800"`
	// AutoCreateSchema applies the schema migrations at start-up.
	AutoCreateSchema bool `env:"ADE_WORKER_AUTO_CREATE_SCHEMA" envDefault:"0"`

	// WorkerID is written to claimed_by; it must differ between workers.
	// Default: the host name plus a short random suffix.
	WorkerID string `env:"ADE_WORKER_ID"`
	// Concurrency is how many runs or builds one worker does at once.
	// Default: max(1, min(4, CPUs/2)), gentle on a developer's machine.
	Concurrency int `env:"ADE_WORKER_CONCURRENCY"`
	// PollInterval is the idle wait after a poll that found work.
	PollInterval time.Duration `env:"ADE_WORKER_POLL_INTERVAL" envDefault:"0.5"`
	// PollIntervalMax caps the idle wait as it backs off on an empty queue.
	PollIntervalMax time.Duration `env:"ADE_WORKER_POLL_INTERVAL_MAX" envDefault:"2"`
	// MSSQLPollInterval is the idle polling floor on SQL Server, where a poll
	// costs a network round trip and locks.
	MSSQLPollInterval time.Duration `env:"ADE_WORKER_MSSQL_POLL_INTERVAL" envDefault:"0.25"`
	// CleanupInterval is how often expired leases are swept.
	CleanupInterval time.Duration `env:"ADE_WORKER_CLEANUP_INTERVAL" envDefault:"30"`
	// LogLevel is the worker's own log level (DEBUG, INFO, WARNING, ERROR).
	LogLevel slog.Level `env:"ADE_WORKER_LOG_LEVEL" envDefault:"INFO"`
	// LogFormat is "text" for people or "json" for log collectors.
	LogFormat string `env:"ADE_WORKER_LOG_FORMAT" envDefault:"text"`
	// HTTPAddr is where health and metrics are served, host:port; empty
	// turns the server off.
	HTTPAddr string `env:"ADE_WORKER_HTTP_ADDR"`
	// ShutdownGrace is how long running work may finish after a stop signal
	// before its subprocesses are stopped.
	ShutdownGrace time.Duration `env:"ADE_WORKER_SHUTDOWN_GRACE_SECONDS" envDefault:"30"`

	// Lease is how long a claim holds without a heartbeat; heartbeats come
	// every Lease/3.
	Lease time.Duration `env:"ADE_WORKER_LEASE_SECONDS" envDefault:"900"`
	// BackoffBase is the first retry delay; each further attempt doubles it.
	BackoffBase time.Duration `env:"ADE_WORKER_BACKOFF_BASE_SECONDS" envDefault:"5"`
	// BackoffMax caps the retry delay.
	BackoffMax time.Duration `env:"ADE_WORKER_BACKOFF_MAX_SECONDS" envDefault:"300"`
	// MaxAttemptsDefault is used for runs whose max_attempts is not set.
	MaxAttemptsDefault int `env:"ADE_WORKER_MAX_ATTEMPTS_DEFAULT" envDefault:"3"`

	// EnableGC turns on garbage collection of cold environments and old run
	// folders. Enable it on exactly one worker of a deployment.
	EnableGC bool `env:"ADE_WORKER_ENABLE_GC" envDefault:"1"`
	// GCInterval is the time between garbage collection passes.
	GCInterval time.Duration `env:"ADE_WORKER_GC_INTERVAL_SECONDS" envDefault:"3600"`
	// EnvTTLDays is how long an unused environment of an inactive
	// configuration is kept. See EnvTTL.
	EnvTTLDays int `env:"ADE_WORKER_ENV_TTL_DAYS" envDefault:"30"`
	// RunArtifactTTLDays is how long the folder of a finished run is kept;
	// 0 or less keeps them forever. See RunArtifactTTL.
	RunArtifactTTLDays int `env:"ADE_WORKER_RUN_ARTIFACT_TTL_DAYS" envDefault:"30"`

	// DataDir is the data folder shared with the ADE API, as given (the
	// paths package makes it absolute).
	DataDir string `env:"ADE_WORKER_DATA_DIR" envDefault:"./data"`
	// EnginePackagePath is the engine_spec used for new environments: a local
	// folder installed editable, or a pip requirement.
	EnginePackagePath string `env:"ADE_ENGINE_PACKAGE_PATH" envDefault:"apps/ade-engine"`
	// Python is the interpreter that creates virtual environments
	// ("python" on Windows when unset, see Load).
	Python string `env:"ADE_WORKER_PYTHON" envDefault:"python3"`
	// EnvBuildTimeout bounds one whole environment build.
	EnvBuildTimeout time.Duration `env:"ADE_WORKER_ENV_BUILD_TIMEOUT_SECONDS" envDefault:"600"`
	// EnvBuildMaxAttempts is how many times a failed environment build is
	// tried before the runs waiting on it fail.
	EnvBuildMaxAttempts int `env:"ADE_WORKER_ENV_BUILD_MAX_ATTEMPTS" envDefault:"3"`
	// RunTimeout bounds one engine run; 0 means no bound (unset, empty or 0).
	RunTimeout time.Duration `env:"ADE_WORKER_RUN_TIMEOUT_SECONDS"`
	// EngineEnvPassthrough names variables of the worker's environment that
	// engine runs and environment builds receive beside the allowlist
	// (comma-separated); empty passes none. See engine.EngineEnv.
	EngineEnvPassthrough []string `env:"ADE_WORKER_ENGINE_ENV_PASSTHROUGH"`
}

// SQLiteBusyTimeout is SQLiteBusyTimeoutMS as a duration.
func (c Config) SQLiteBusyTimeout() time.Duration {
	return time.Duration(c.SQLiteBusyTimeoutMS) * time.Millisecond
}

// EnvTTL is EnvTTLDays as a duration.
func (c Config) EnvTTL() time.Duration {
	return time.Duration(c.EnvTTLDays) * 24 * time.Hour
}

// RunArtifactTTL is RunArtifactTTLDays as a duration; 0 or less means run
// folders are never collected.
func (c Config) RunArtifactTTL() time.Duration {
	return time.Duration(c.RunArtifactTTLDays) * 24 * time.Hour
}

// Backoff is the retry delay after the given attempt (1-based):
// min(BackoffMax, BackoffBase * 2^(attempt-1)). It never overflows.
func (c Config) Backoff(attempt int) time.Duration {
	if attempt < 1 {
		attempt = 1
	}
	d := c.BackoffBase
	for i := 1; i < attempt; i++ {
		if d >= c.BackoffMax || d > c.BackoffMax/2 {
			return c.BackoffMax
		}
		d *= 2
	}
	return min(d, c.BackoffMax)
}
