package storetest

import (
	"context"
	_ "embed"
	"testing"
	"time"

	"github.com/ade-dev/ade-worker/internal/store"
)

//go:embed babelfish_mssql.sql
var babelfishMSSQL string

// Babelfish reports whether s is a T-SQL database served by Babelfish for
// PostgreSQL rather than SQL Server. The live suite runs on both; a few
// tests need what only SQL Server has (table hints such as READPAST, read
// committed snapshot, sys.dm_tran_locks, seven decimals of DATETIME2) and
// are skipped on Babelfish, saying which.
func Babelfish(t testing.TB, s *store.Store) bool {
	t.Helper()
	if s.Dialect() != store.MSSQL {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var is int
	if err := s.DB().QueryRowContext(ctx, babelfishMSSQL).Scan(&is); err != nil {
		t.Fatalf("ask the server whether it is Babelfish: %v", err)
	}
	return is == 1
}

// SkipOnBabelfish skips the test when s is served by Babelfish, giving
// what the test needs that Babelfish does not have.
func SkipOnBabelfish(t testing.TB, s *store.Store, needs string) {
	t.Helper()
	if Babelfish(t, s) {
		t.Skipf("needs SQL Server: %s, which Babelfish does not have", needs)
	}
}
