package store

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
)

// Dialect is the SQL dialect of an opened database.
type Dialect string

const (
	SQLite Dialect = "sqlite"
	MSSQL  Dialect = "mssql"
)

// Target is a parsed ADE_DATABASE_URL.
type Target struct {
	Dialect Dialect
	// SQLitePath is the database file, or ":memory:".
	SQLitePath string
	// MSSQL is the go-mssqldb connection URL (sqlserver://...).
	MSSQL *url.URL
	// Redacted is the URL with any password replaced by "***": the only form
	// that may appear in logs and errors.
	Redacted string
	// Origin says where SQLitePath came from, for messages about the file.
	Origin string
}

// defaultSQLiteOrigin is the Origin of the default database's path.
const defaultSQLiteOrigin = "the default database, db/ade.sqlite under ADE_WORKER_DATA_DIR"

// defaultSQLitePath is the database file used when ADE_DATABASE_URL is
// unset.
func defaultSQLitePath(dataDir string) string { return filepath.Join(dataDir, "db", "ade.sqlite") }

// ErrUnknownScheme reports a database URL this worker cannot open.
var ErrUnknownScheme = errors.New("unsupported database URL scheme")

// ParseURL reads ADE_DATABASE_URL in the forms the ADE API writes
// (SQLAlchemy style) and go-mssqldb's native form:
//
//	sqlite:///relative/path.sqlite   sqlite:////absolute/path.sqlite   sqlite:///:memory:
//	mssql+pyodbc://user:pass@host:1433/db?driver=...&TrustServerCertificate=yes
//	mssql+pyodbc:///?odbc_connect=<percent-encoded ODBC string>
//	mssql://user:pass@host/db
//	sqlserver://user:pass@host:1433?database=db
//
// An empty URL means SQLite at <dataDir>/db/ade.sqlite. Errors never contain
// the password.
func ParseURL(raw, dataDir string) (Target, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		p := defaultSQLitePath(dataDir)
		return Target{Dialect: SQLite, SQLitePath: p, Redacted: "sqlite:///" + filepath.ToSlash(p), Origin: defaultSQLiteOrigin}, nil
	}
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		// Without a scheme nothing says where a password would be: echo none of it.
		return Target{}, errors.New("database URL: missing scheme (expected sqlite:///, mssql+pyodbc://, mssql:// or sqlserver://)")
	}
	redacted := MaskURL(raw)
	switch strings.ToLower(scheme) {
	case "sqlite", "sqlite+pysqlite", "sqlite+aiosqlite":
		return parseSQLite(rest, redacted)
	case "mssql", "mssql+pyodbc", "mssql+pymssql", "mssql+aioodbc":
		u, err := parseSQLAlchemyMSSQL(raw, redacted)
		if err != nil {
			return Target{}, err
		}
		return Target{Dialect: MSSQL, MSSQL: u, Redacted: MaskURL(u.String())}, nil
	case "sqlserver":
		u, err := parseSQLServerURL(raw, redacted)
		if err != nil {
			return Target{}, err
		}
		return Target{Dialect: MSSQL, MSSQL: u, Redacted: MaskURL(u.String())}, nil
	default:
		return Target{}, fmt.Errorf("database URL %q: %w %q (expected sqlite, mssql+pyodbc, mssql or sqlserver)", redacted, ErrUnknownScheme, scheme)
	}
}

func parseSQLite(rest, redacted string) (Target, error) {
	// SQLAlchemy: "sqlite:///" + path, so rest is "/" + path; an absolute
	// path therefore starts with two slashes ("sqlite:////abs").
	path, _, _ := strings.Cut(rest, "?")
	if !strings.HasPrefix(path, "/") {
		return Target{}, fmt.Errorf("database URL %q: SQLite URLs have three slashes, e.g. sqlite:///./data/db/ade.sqlite", redacted)
	}
	path = path[1:]
	if path == "" {
		return Target{}, fmt.Errorf("database URL %q: missing SQLite file path", redacted)
	}
	if strings.ContainsRune(path, 0) {
		return Target{}, fmt.Errorf("database URL %q: NUL byte in path", redacted)
	}
	if path == ":memory:" {
		return Target{Dialect: SQLite, SQLitePath: ":memory:", Redacted: redacted}, nil
	}
	if p, err := url.PathUnescape(path); err == nil {
		path = p
	}
	if runtime.GOOS == "windows" && windowsDrive.MatchString(path) {
		// sqlite:////C:/data/ade.sqlite: the slash before the drive letter
		// is the URL's, not the path's.
		path = path[1:]
	}
	origin := "ADE_DATABASE_URL"
	if !filepath.IsAbs(filepath.FromSlash(path)) && !strings.HasPrefix(path, "/") {
		origin = "ADE_DATABASE_URL, a path relative to the working directory: sqlite:/// is followed by a relative path, sqlite://// by an absolute one"
	}
	return Target{Dialect: SQLite, SQLitePath: filepath.FromSlash(path), Redacted: redacted, Origin: origin}, nil
}

// windowsDrive matches "/C:/...", an absolute Windows path written after
// an absolute URL's slash.
var windowsDrive = regexp.MustCompile(`^/[A-Za-z]:[/\\]`)

var (
	// Greedy up to the last "@" before a "/", so a password holding an
	// unescaped "@" is masked whole (over-masking is the safe side).
	userinfoPassword = regexp.MustCompile(`(://[^/@:]*:)[^/]*@`)
	// A password value runs to the next separator, or is braced (plain or
	// percent-encoded) and may then hold separators itself.
	odbcPassword = regexp.MustCompile(`(?i)((?:^|[;?&\s]|%3b)(?:pwd|password)\s*(?:=|%3d))` +
		`(\{(?:[^}]|\}\})*\}?|%7b(?:[^%]|%[^7]|%7[^d])*(?:%7d)?|[^;&\s]*)`)
)

// MaskURL replaces any password in a database URL or ODBC string with "***".
func MaskURL(s string) string {
	s = userinfoPassword.ReplaceAllString(s, "${1}***@")
	return odbcPassword.ReplaceAllString(s, "${1}***")
}

// cleanURLError drops url.Parse's echo of the input, which may hold a password.
func cleanURLError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return "malformed URL"
}
