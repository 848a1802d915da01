// Package storetest opens real, migrated databases for tests: a fresh SQLite
// file per test, and, when ADE_TEST_MSSQL_URL is set, the SQL Server it
// names, so the same test body runs on both dialects.
package storetest

import (
	"context"
	_ "embed"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ade-dev/ade-worker/internal/store"
)

//go:embed reset_mssql.sql
var resetMSSQL string

// MSSQLEnv names the SQL Server used by the live suite.
const MSSQLEnv = "ADE_TEST_MSSQL_URL"

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
	s, err := store.Open(ctx, "sqlite:///"+filepath.ToSlash(path), store.Options{})
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if _, err := s.MigrateUp(ctx); err != nil {
		t.Fatalf("migrate sqlite: %v", err)
	}
	return s
}

// Each runs body once per available dialect: SQLite always, SQL Server when
// ADE_TEST_MSSQL_URL is set (otherwise it says, visibly, that it skipped).
func Each(t *testing.T, body func(t *testing.T, s *store.Store)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { body(t, SQLite(t)) })
	t.Run("mssql", func(t *testing.T) {
		s := MSSQL(t)
		body(t, s)
	})
}

// MSSQL opens the live SQL Server of ADE_TEST_MSSQL_URL, migrated up and
// emptied, or skips the test with a message saying how to run it.
func MSSQL(t testing.TB) *store.Store {
	t.Helper()
	url := os.Getenv(MSSQLEnv)
	if url == "" {
		t.Skipf("SQL Server live suite skipped: set %s (see README, \"SQL Server\") to run it", MSSQLEnv)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := store.Open(ctx, url, store.Options{})
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
