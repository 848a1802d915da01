package store

import (
	"context"
	"database/sql"
	"sync/atomic"

	"github.com/ade-dev/ade-worker/gen/db"
)

// StatementCounter counts statements sent to the database, so benchmarks can
// report statements per run.
type StatementCounter struct{ atomic.Int64 }

type countingDBTX struct {
	inner db.DBTX
	n     *StatementCounter
}

func (c countingDBTX) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	c.n.Add(1)
	return c.inner.ExecContext(ctx, q, args...)
}

func (c countingDBTX) PrepareContext(ctx context.Context, q string) (*sql.Stmt, error) {
	return c.inner.PrepareContext(ctx, q)
}

func (c countingDBTX) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	c.n.Add(1)
	return c.inner.QueryContext(ctx, q, args...)
}

func (c countingDBTX) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	c.n.Add(1)
	return c.inner.QueryRowContext(ctx, q, args...)
}

// QueriesOn binds the queries to conn, a connection the caller pinned (the
// idle wake-up's), in the store's dialect; its statements are counted like
// every other.
func (s *Store) QueriesOn(conn db.DBTX) *db.Queries {
	return s.queriesOn(countingDBTX{inner: conn, n: s.counter})
}
