package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"

	mssql "github.com/microsoft/go-mssqldb"
)

// sqliteErrors provokes real errors from SQLite, one per case, on a fresh
// database file.
func sqliteErrors(t *testing.T) map[string]error {
	t.Helper()
	path := filepath.Join(t.TempDir(), "classify.sqlite")
	d, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(0)&_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	ctx := context.Background()
	for _, stmt := range []string{
		`CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, n INTEGER CHECK (n >= 0))`,
		`CREATE TABLE poisoned (x TEXT)`,
		`CREATE TRIGGER poison BEFORE INSERT ON poisoned WHEN NEW.x = 'poison' BEGIN SELECT RAISE(ABORT, 'poisoned row'); END`,
		`INSERT INTO t (name, n) VALUES ('a', 1)`,
	} {
		if _, err := d.ExecContext(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	exec := func(q string, args ...any) error {
		_, err := d.ExecContext(ctx, q, args...)
		if err == nil {
			t.Fatalf("%s succeeded; want an error", q)
		}
		return err
	}
	errs := map[string]error{
		"unique":          exec(`INSERT INTO t (name, n) VALUES ('a', 2)`),
		"not null":        exec(`INSERT INTO t (name, n) VALUES (NULL, 2)`),
		"check":           exec(`INSERT INTO t (name, n) VALUES ('b', -1)`),
		"trigger":         exec(`INSERT INTO poisoned (x) VALUES ('poison')`),
		"too big":         exec(`SELECT zeroblob(2000000000)`),
		"mismatch":        exec(`INSERT INTO t (id, name) VALUES ('not a rowid', 'c')`),
		"syntax (plain)":  exec(`INSERT INTO nowhere VALUES (1)`),
		"wrapped trigger": nil,
	}
	errs["wrapped trigger"] = fmt.Errorf("insert run_fields: %w", errs["trigger"])

	// A second connection finds the write lock taken and, with no busy
	// timeout, fails at once with SQLITE_BUSY.
	holder, err := d.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	if _, err := holder.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	other, err := d.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	_, busy := other.ExecContext(ctx, "BEGIN IMMEDIATE")
	if busy == nil {
		t.Fatal("a second writer got the lock")
	}
	errs["busy"] = busy
	if _, err := holder.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	return errs
}

func TestClassifySQLiteErrors(t *testing.T) {
	t.Parallel()
	want := map[string]ErrorClass{
		"unique": ErrorPermanent, "not null": ErrorPermanent, "check": ErrorPermanent,
		"trigger": ErrorPermanent, "wrapped trigger": ErrorPermanent,
		"too big": ErrorPermanent, "mismatch": ErrorPermanent,
		"busy":           ErrorTransient,
		"syntax (plain)": ErrorUnknown,
	}
	for name, err := range sqliteErrors(t) {
		if got := Classify(err); got != want[name] {
			t.Errorf("%s (%v): %s, want %s", name, err, got, want[name])
		}
		if IsPermanent(err) != (want[name] == ErrorPermanent) || IsRetryable(err) != (want[name] == ErrorTransient) {
			t.Errorf("%s: IsPermanent %v, IsRetryable %v; want class %s", name, IsPermanent(err), IsRetryable(err), want[name])
		}
	}
	if err := sqliteErrors(t)["trigger"]; !strings.Contains(err.Error(), "poisoned row") {
		t.Errorf("the trigger's error does not carry its message: %v", err)
	}
}

func TestClassifyOtherErrors(t *testing.T) {
	t.Parallel()
	ms := func(n int32, more ...int32) error {
		e := mssql.Error{Number: n, Message: fmt.Sprintf("error %d", n)}
		for _, m := range more {
			e.All = append(e.All, mssql.Error{Number: m})
		}
		e.All = append([]mssql.Error{{Number: n}}, e.All...)
		return e
	}
	cases := []struct {
		name string
		err  error
		want ErrorClass
	}{
		{"2627 unique constraint", ms(2627), ErrorPermanent},
		{"2601 unique index", fmt.Errorf("insert run_fields: %w", ms(2601)), ErrorPermanent},
		{"547 foreign key or check", ms(547), ErrorPermanent},
		{"8152 truncation", ms(8152), ErrorPermanent},
		{"2628 truncation", ms(2628), ErrorPermanent},
		{"245 conversion", ms(245), ErrorPermanent},
		{"8114 conversion", ms(8114), ErrorPermanent},
		{"241 date conversion", ms(241), ErrorPermanent},
		{"515 NULL", ms(515), ErrorPermanent},
		{"pointer to 2627", &mssql.Error{Number: 2627}, ErrorPermanent},
		{"1205 deadlock", ms(1205), ErrorTransient},
		{"1222 lock timeout", fmt.Errorf("commit: %w", ms(1222)), ErrorTransient},
		{"40613 failover", ms(40613), ErrorTransient},
		{"deadlock after a constraint in one batch", ms(2627, 1205), ErrorTransient},
		{"informational then a constraint", ms(3621, 2627), ErrorPermanent},
		{"208 invalid object", ms(208), ErrorUnknown},
		{"bad connection", fmt.Errorf("begin: %w", driver.ErrBadConn), ErrorTransient},
		{"EOF", fmt.Errorf("read: %w", io.EOF), ErrorTransient},
		{"unexpected EOF", io.ErrUnexpectedEOF, ErrorTransient},
		{"net error", &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}, ErrorTransient},
		{"plain", errors.New("boom"), ErrorUnknown},
		{"context canceled", context.Canceled, ErrorUnknown},
		{"nil", nil, ErrorUnknown},
	}
	for _, c := range cases {
		if got := Classify(c.err); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
}
