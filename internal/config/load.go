package config

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"unicode"

	"github.com/caarlos0/env/v11"
	"github.com/joho/godotenv"
)

// defaultEnvFile is read when ADE_ENV_FILE is not set, only if it exists.
const defaultEnvFile = ".env"

// Load builds the Config from environ, a list of KEY=VALUE entries such as
// os.Environ() returns. A .env file (ADE_ENV_FILE, else ./.env when present)
// supplies values for variables environ does not set; environ always wins.
// Values are trimmed, and an empty value counts as unset.
//
// A problem is reported as a *Error naming the variable; when there are
// several, one is reported (the .env file first, then roughly in the order
// of the Config fields), so fixing them is a short loop.
func Load(environ []string) (Config, error) {
	vars := make(map[string]string, len(environ))
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			continue
		}
		vars[k] = v
	}

	envFile, fromFile, err := mergeEnvFile(vars)
	if err != nil {
		return Config{}, err
	}
	cfg, err := load(vars, envFile)
	var bad *Error
	if errors.As(err, &bad) && fromFile[bad.Var] {
		// The operator looks for the value where it was set.
		bad.File = envFile
	}
	return cfg, err
}

// load builds the Config from vars, the environment merged with the .env
// file envFile.
func load(vars map[string]string, envFile string) (Config, error) {
	for k, v := range vars {
		if v = strings.TrimSpace(v); v == "" {
			delete(vars, k)
		} else {
			vars[k] = v
		}
	}
	delete(vars, "ADE_ENV_FILE") // recorded from what was loaded, below

	if v, ok := vars["ADE_WORKER_LOG_LEVEL"]; ok {
		level, err := normalizeLogLevel(v)
		if err != nil {
			return Config{}, newError("ADE_WORKER_LOG_LEVEL", v, err.Error())
		}
		vars["ADE_WORKER_LOG_LEVEL"] = level
	}

	if _, set := vars["ADE_WORKER_PYTHON"]; !set && runtime.GOOS == "windows" {
		// Python's Windows installer puts python.exe on PATH, not python3.
		vars["ADE_WORKER_PYTHON"] = "python"
	}

	var cfg Config
	err := env.ParseWithOptions(&cfg, env.Options{
		Environment: vars,
		FuncMap:     parsers(),
	})
	if err != nil {
		return Config{}, translateEnvError(err, vars)
	}
	cfg.EnvFile = envFile

	if err := cfg.fillDefaults(vars); err != nil {
		return Config{}, err
	}
	if err := cfg.validate(vars); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// Defaults is the Config of an empty environment with no .env file: every
// documented default, before the computed ones (database URL, worker id,
// concurrency) are filled in. Packages that take settings as options of
// their own (store.Options) read their defaults here, so each default is
// written once.
func Defaults() Config {
	var cfg Config
	if err := env.ParseWithOptions(&cfg, env.Options{Environment: map[string]string{}, FuncMap: parsers()}); err != nil {
		// The defaults are tags in this package; one that does not parse
		// is a bug that every test run finds.
		panic(fmt.Sprintf("config: a default does not parse: %v", err))
	}
	return cfg
}

// mergeEnvFile reads the .env file, if any, into vars without overriding
// what vars already holds, and returns the file's name ("" when none) and
// the variables it supplied.
func mergeEnvFile(vars map[string]string) (string, map[string]bool, error) {
	name := strings.TrimSpace(vars["ADE_ENV_FILE"])
	explicit := name != ""
	if !explicit {
		name = defaultEnvFile
	}
	f, err := os.Open(name)
	if err != nil {
		if !explicit && errors.Is(err, fs.ErrNotExist) {
			return "", nil, nil
		}
		if errors.Is(err, fs.ErrNotExist) {
			return "", nil, newError("ADE_ENV_FILE", name, "names a file that does not exist")
		}
		return "", nil, newError("ADE_ENV_FILE", name, "cannot be opened: "+errReason(err))
	}
	defer f.Close()
	fromFile, err := godotenv.Parse(f)
	if err != nil {
		// The parser's message quotes the rest of the file, which may hold
		// secrets, so it is not repeated here.
		return "", nil, newError("ADE_ENV_FILE", name, "is not a valid .env file")
	}
	supplied := map[string]bool{}
	for k, v := range fromFile {
		if _, set := vars[k]; !set {
			vars[k] = v
			supplied[k] = true
		}
	}
	return name, supplied, nil
}

// errReason is the part of a file system error that does not repeat the path.
func errReason(err error) string {
	var pathErr *fs.PathError
	if errors.As(err, &pathErr) {
		return pathErr.Err.Error()
	}
	return err.Error()
}

// translateEnvError turns the env library's first parse error into an *Error
// naming the variable.
func translateEnvError(err error, vars map[string]string) error {
	var parseErr env.ParseError
	if errors.As(err, &parseErr) {
		field, ok := reflect.TypeFor[Config]().FieldByName(parseErr.Name)
		if ok {
			name := envName(field)
			reason := "is invalid"
			switch {
			case isOwnReason(parseErr.Err):
				reason = parseErr.Err.Error()
			case field.Type == reflect.TypeFor[slog.Level]():
				reason = errNotLogLevel.Error()
			}
			return newError(name, vars[name], reason)
		}
	}
	return fmt.Errorf("load settings: %w", err)
}

// isOwnReason reports whether err is one of this package's parser errors,
// whose text is meant to follow the quoted value.
func isOwnReason(err error) bool {
	for _, own := range []error{errNotInt, errNotBool, errNotSeconds, errTooLarge, errNotLogLevel} {
		if errors.Is(err, own) {
			return true
		}
	}
	return false
}

// envName is the variable a Config field is read from.
func envName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("env"), ",")
	return name
}

// fillDefaults computes the defaults that cannot be written as a tag.
func (c *Config) fillDefaults(vars map[string]string) error {
	if _, set := vars["ADE_DATABASE_URL"]; !set {
		c.DatabaseURL = "sqlite:///" + strings.TrimRight(c.DataDir, "/") + "/db/ade.sqlite"
	}
	if _, set := vars["ADE_WORKER_CONCURRENCY"]; !set {
		c.Concurrency = DefaultConcurrency(runtime.NumCPU())
	}
	if _, set := vars["ADE_WORKER_ID"]; !set {
		id, err := defaultWorkerID()
		if err != nil {
			return fmt.Errorf("load settings: choose worker id: %w", err)
		}
		c.WorkerID = id
	}
	return nil
}

// DefaultConcurrency is max(1, min(4, cpus/2)): enough to use a server,
// gentle on a laptop that also runs the API and a browser.
func DefaultConcurrency(cpus int) int {
	return max(1, min(4, cpus/2))
}

// defaultWorkerID is the host name plus a random suffix, so two workers on
// one host (or two containers with the same name) never share claims.
func defaultWorkerID() (string, error) {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "ade-worker"
	}
	var b [3]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return host + "-" + hex.EncodeToString(b[:]), nil
}

// validate checks ranges and enumerations, in field order, and normalizes
// the case of enumerated values.
func (c *Config) validate(vars map[string]string) error {
	bad := func(name, reason string) error { return newError(name, vars[name], reason) }

	if err := checkDatabaseURL(c.DatabaseURL); err != nil {
		return err
	}
	c.DatabaseAuthMode = strings.ToLower(c.DatabaseAuthMode)
	if !slices.Contains([]string{"sql_password", "managed_identity"}, c.DatabaseAuthMode) {
		return bad("ADE_DATABASE_AUTH_MODE", "is not an auth mode (use sql_password or managed_identity)")
	}
	c.SQLiteJournalMode = strings.ToUpper(c.SQLiteJournalMode)
	if !slices.Contains([]string{"DELETE", "TRUNCATE", "PERSIST", "MEMORY", "WAL", "OFF"}, c.SQLiteJournalMode) {
		return bad("ADE_DATABASE_SQLITE_JOURNAL_MODE", "is not a SQLite journal mode (use DELETE, TRUNCATE, PERSIST, MEMORY, WAL or OFF)")
	}
	c.SQLiteSynchronous = strings.ToUpper(c.SQLiteSynchronous)
	if !slices.Contains([]string{"OFF", "NORMAL", "FULL", "EXTRA"}, c.SQLiteSynchronous) {
		return bad("ADE_DATABASE_SQLITE_SYNCHRONOUS", "is not a SQLite synchronous level (use OFF, NORMAL, FULL or EXTRA)")
	}
	switch {
	case c.SQLiteBusyTimeoutMS < 0:
		return bad("ADE_DATABASE_SQLITE_BUSY_TIMEOUT_MS", "must not be negative")
	case c.DatabasePoolSize < 1:
		return bad("ADE_DATABASE_POOL_SIZE", "must be at least 1")
	case c.DatabaseMaxOverflow < 0:
		return bad("ADE_DATABASE_MAX_OVERFLOW", "must not be negative")
	case c.DatabasePoolTimeout <= 0:
		return bad("ADE_DATABASE_POOL_TIMEOUT", "must be more than 0 seconds")
	case c.DatabasePoolRecycle < 0:
		return bad("ADE_DATABASE_POOL_RECYCLE", "must not be negative (0 means the 25-minute cap)")
	}
	if err := checkWorkerID(c.WorkerID); err != nil {
		return bad("ADE_WORKER_ID", err.Error())
	}
	switch {
	case c.Concurrency < 1:
		return bad("ADE_WORKER_CONCURRENCY", "must be at least 1")
	case c.PollInterval <= 0:
		return bad("ADE_WORKER_POLL_INTERVAL", "must be more than 0 seconds")
	case c.PollIntervalMax < c.PollInterval:
		return bad("ADE_WORKER_POLL_INTERVAL_MAX", fmt.Sprintf("must not be less than ADE_WORKER_POLL_INTERVAL (%gs)", c.PollInterval.Seconds()))
	case c.MSSQLPollInterval <= 0:
		return bad("ADE_WORKER_MSSQL_POLL_INTERVAL", "must be more than 0 seconds")
	case c.CleanupInterval <= 0:
		return bad("ADE_WORKER_CLEANUP_INTERVAL", "must be more than 0 seconds")
	}
	c.LogFormat = strings.ToLower(c.LogFormat)
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return bad("ADE_WORKER_LOG_FORMAT", "is not a log format (use text or json)")
	}
	if c.HTTPAddr != "" {
		if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
			return bad("ADE_WORKER_HTTP_ADDR", `is not host:port (e.g. ":9090" or "127.0.0.1:9090")`)
		}
	}
	switch {
	case c.ShutdownGrace < 0:
		return bad("ADE_WORKER_SHUTDOWN_GRACE_SECONDS", "must not be negative")
	case c.Lease <= 0:
		return bad("ADE_WORKER_LEASE_SECONDS", "must be more than 0 seconds")
	case c.BackoffBase < 0:
		return bad("ADE_WORKER_BACKOFF_BASE_SECONDS", "must not be negative")
	case c.BackoffMax < c.BackoffBase:
		return bad("ADE_WORKER_BACKOFF_MAX_SECONDS", fmt.Sprintf("must not be less than ADE_WORKER_BACKOFF_BASE_SECONDS (%gs)", c.BackoffBase.Seconds()))
	case c.MaxAttemptsDefault < 1:
		return bad("ADE_WORKER_MAX_ATTEMPTS_DEFAULT", "must be at least 1")
	case c.GCInterval <= 0:
		return bad("ADE_WORKER_GC_INTERVAL_SECONDS", "must be more than 0 seconds")
	case c.EnvTTLDays < 0:
		return bad("ADE_WORKER_ENV_TTL_DAYS", "must not be negative")
	case c.EnvBuildTimeout <= 0:
		return bad("ADE_WORKER_ENV_BUILD_TIMEOUT_SECONDS", "must be more than 0 seconds")
	case c.EnvBuildMaxAttempts < 1:
		return bad("ADE_WORKER_ENV_BUILD_MAX_ATTEMPTS", "must be at least 1")
	case c.RunTimeout < 0:
		return bad("ADE_WORKER_RUN_TIMEOUT_SECONDS", "must not be negative (leave it unset for no timeout)")
	}
	return c.validatePassthrough(vars)
}

// validatePassthrough checks and normalizes
// ADE_WORKER_ENGINE_ENV_PASSTHROUGH.
func (c *Config) validatePassthrough(vars map[string]string) error {
	names, err := passthroughNames(c.EngineEnvPassthrough)
	if err != nil {
		return newError("ADE_WORKER_ENGINE_ENV_PASSTHROUGH", vars["ADE_WORKER_ENGINE_ENV_PASSTHROUGH"], err.Error())
	}
	c.EngineEnvPassthrough = names
	return nil
}

// passthroughNames trims the names of ADE_WORKER_ENGINE_ENV_PASSTHROUGH,
// drops empty ones and duplicates, and refuses what is not a variable name
// and the worker's own database settings, which no subprocess may see.
func passthroughNames(given []string) ([]string, error) {
	var names []string
	for _, name := range given {
		name = strings.TrimSpace(name)
		switch {
		case name == "" || slices.Contains(names, name):
			continue
		case !isVariableName(name):
			return nil, fmt.Errorf("names %q, which is not a variable name (letters, digits and _, not starting with a digit)", name)
		case strings.HasPrefix(strings.ToUpper(name), "ADE_DATABASE_"):
			return nil, fmt.Errorf("names %s, a database setting of the worker, which never reaches the engine", name)
		}
		names = append(names, name)
	}
	return names, nil
}

// isVariableName reports whether s is a portable environment variable name.
func isVariableName(s string) bool {
	for i, r := range s {
		switch {
		case r == '_' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z':
		case i > 0 && r >= '0' && r <= '9':
		default:
			return false
		}
	}
	return s != ""
}

// checkDatabaseURL accepts the URL forms the store can open. It never quotes
// the URL, which may hold a password.
func checkDatabaseURL(u string) error {
	scheme, _, ok := strings.Cut(u, "://")
	if !ok {
		return newError("ADE_DATABASE_URL", "", "is not a URL (expected sqlite:///path or mssql+pyodbc://...)")
	}
	dialect, _, _ := strings.Cut(strings.ToLower(scheme), "+")
	switch dialect {
	case "sqlite", "mssql", "sqlserver":
		return nil
	}
	// Even the scheme is not quoted: a mistyped value can be anything.
	return newError("ADE_DATABASE_URL", "", "has an unsupported scheme (expected sqlite:///path or mssql+pyodbc://...)")
}

// checkWorkerID keeps the id printable and short enough for claimed_by.
func checkWorkerID(id string) error {
	if len(id) > 255 {
		return errors.New("is longer than 255 bytes")
	}
	if strings.ContainsFunc(id, unicode.IsControl) {
		return errors.New("contains control characters")
	}
	return nil
}
