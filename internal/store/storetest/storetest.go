// Package storetest opens real, migrated databases for tests: a fresh SQLite
// file per test, and, when ADE_TEST_MSSQL_URL is set, the SQL Server it
// names, so the same test body runs on both dialects.
package storetest

import (
	"context"
	_ "embed"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ade-dev/ade-worker/internal/store"
)

var (
	//go:embed reset_mssql.sql
	resetMSSQL string
	//go:embed live_lock_mssql.sql
	liveLockMSSQL string
	//go:embed create_database_mssql.sql
	createDatabaseMSSQL string
	//go:embed drop_database_mssql.sql
	dropDatabaseMSSQL string
)

// MSSQLEnv names the SQL Server used by the live suite.
const MSSQLEnv = "ADE_TEST_MSSQL_URL"

// MSSQLOptions are the pool settings live tests open SQL Server with: the
// worker's defaults.
var MSSQLOptions = store.Options{PoolSize: 5, MaxOverflow: 10}

// liveLockWait bounds how long a live test waits for the tests of another
// package to finish with the shared test database.
const liveLockWait = 15 * time.Minute

// SQLite opens a migrated SQLite file in a fresh temporary folder.
func SQLite(t testing.TB) *store.Store {
	t.Helper()
	return SQLiteAt(t, filepath.Join(t.TempDir(), "ade.sqlite"))
}

// SQLiteAt opens and migrates the SQLite file at path.
func SQLiteAt(t testing.TB, path string) *store.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s := openSQLite(t, path)
	if _, err := s.MigrateUp(ctx); err != nil {
		t.Fatalf("migrate sqlite: %v", err)
	}
	return s
}

func openSQLite(t testing.TB, path string) *store.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := store.Open(ctx, "sqlite:///"+filepath.ToSlash(path), store.Options{Create: true})
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// Each runs body once per available dialect: SQLite always, SQL Server when
// ADE_TEST_MSSQL_URL is set (otherwise it says, visibly, that it skipped).
// Each body gets a migrated, empty database of its own.
func Each(t *testing.T, body func(t *testing.T, s *store.Store)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { body(t, SQLite(t)) })
	t.Run("mssql", func(t *testing.T) { body(t, MSSQL(t)) })
}

// EachFresh is Each with a database that has never been migrated: a new
// SQLite file, or a new SQL Server database (dropped when the test ends).
// It is for the tests of migrating itself.
func EachFresh(t *testing.T, body func(t *testing.T, s *store.Store)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { body(t, openSQLite(t, filepath.Join(t.TempDir(), "ade.sqlite"))) })
	t.Run("mssql", func(t *testing.T) { body(t, MSSQLFresh(t, false)) })
}

// Reopen opens another connection pool on the database of s, as another
// worker process would have; it is closed when the test ends.
func Reopen(t testing.TB, s *store.Store, o store.Options) *store.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r, err := store.OpenTarget(ctx, s.Target(), o)
	if err != nil {
		t.Fatalf("reopen %s: %v", s.Redacted(), err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

// mssqlURL is ADE_TEST_MSSQL_URL, or skips the test with a message saying
// how to run it.
func mssqlURL(t testing.TB) string {
	t.Helper()
	url := os.Getenv(MSSQLEnv)
	if url == "" {
		t.Skipf("SQL Server live suite skipped: set %s (see docs/sqlserver.md) to run it", MSSQLEnv)
	}
	return url
}

// MSSQL opens the live SQL Server of ADE_TEST_MSSQL_URL, migrated up and
// emptied, or skips the test with a message saying how to run it. The test
// holds the live suite's lock until it ends, so tests of other packages
// running at the same time wait rather than share the tables.
func MSSQL(t testing.TB) *store.Store {
	t.Helper()
	url := mssqlURL(t)
	ctx, cancel := context.WithTimeout(context.Background(), liveLockWait+time.Minute)
	defer cancel()
	holdLiveLock(ctx, t, url)
	s, err := store.Open(ctx, url, MSSQLOptions)
	if err != nil {
		t.Fatalf("open %s: %v", MSSQLEnv, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if _, err := s.MigrateUp(ctx); err != nil {
		t.Fatalf("migrate mssql: %v", err)
	}
	if _, err := s.DB().ExecContext(ctx, resetMSSQL); err != nil {
		t.Fatalf("empty mssql tables: %v", err)
	}
	return s
}

// holdLiveLock takes the live suite's lock on a connection of its own and
// releases it (by closing that connection) after every other cleanup of the
// test has run.
func holdLiveLock(ctx context.Context, t testing.TB, url string) {
	t.Helper()
	ls, err := store.Open(ctx, url, store.Options{PoolSize: 1})
	if err != nil {
		t.Fatalf("open %s: %v", MSSQLEnv, err)
	}
	conn, err := ls.DB().Conn(ctx)
	if err != nil {
		_ = ls.Close()
		t.Fatalf("live suite lock: %v", err)
	}
	t.Cleanup(func() {
		_ = conn.Close()
		_ = ls.Close()
	})
	if _, err := conn.ExecContext(ctx, liveLockMSSQL, liveLockWait.Milliseconds()); err != nil {
		t.Fatalf("live suite lock: %v", err)
	}
}

// scratch numbers the databases MSSQLFresh creates in this process.
var scratch atomic.Int64

// MSSQLFresh creates a new, empty database on the server of
// ADE_TEST_MSSQL_URL, with READ_COMMITTED_SNAPSHOT ON when rcsi is set (as
// on Azure SQL) and OFF otherwise (as on a new SQL Server database), and
// opens it unmigrated. The database is dropped when the test ends. The test
// is skipped, saying why, when the login may not create databases, or when
// it asks for read committed snapshot on Babelfish, which has none.
func MSSQLFresh(t testing.TB, rcsi bool) *store.Store {
	t.Helper()
	url := mssqlURL(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	admin, err := store.Open(ctx, url, store.Options{PoolSize: 1})
	if err != nil {
		t.Fatalf("open %s: %v", MSSQLEnv, err)
	}
	if rcsi && Babelfish(t, admin) {
		_ = admin.Close()
		t.Skip("needs SQL Server: READ_COMMITTED_SNAPSHOT ON, which Babelfish does not have (nor ALTER DATABASE to switch it)")
	}
	name := fmt.Sprintf("ade_test_%d_%d_%d", os.Getpid(), time.Now().Unix()%100000, scratch.Add(1))
	if _, err := admin.DB().ExecContext(ctx, createDatabaseMSSQL, name, rcsi); err != nil {
		// The database may exist though a later step failed: not left behind.
		_, _ = admin.DB().ExecContext(ctx, dropDatabaseMSSQL, name)
		_ = admin.Close()
		t.Skipf("cannot create a scratch database on %s (%v): this test needs a login that may CREATE DATABASE, as the SQL Server container's sa may", admin.Redacted(), err)
	}
	t.Cleanup(func() {
		dctx, dcancel := context.WithTimeout(context.Background(), time.Minute)
		defer dcancel()
		if _, err := admin.DB().ExecContext(dctx, dropDatabaseMSSQL, name); err != nil {
			t.Logf("drop scratch database %s: %v", name, err)
		}
		_ = admin.Close()
	})
	s, err := store.OpenTarget(ctx, onDatabase(admin.Target(), name), MSSQLOptions)
	if err != nil {
		t.Fatalf("open scratch database %s: %v", name, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// onDatabase is t pointed at another database of the same server.
func onDatabase(t store.Target, name string) store.Target {
	u := *t.MSSQL
	q := u.Query()
	for k := range q {
		if strings.EqualFold(k, "database") || strings.EqualFold(k, "initial catalog") {
			q.Del(k)
		}
	}
	q.Set("database", name)
	u.RawQuery = q.Encode()
	t.MSSQL = &u
	t.Redacted = store.MaskURL(u.String())
	return t
}
