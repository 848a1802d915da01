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

// countingTx is a *sql.Tx that counts like countingDBTX.
type countingTx struct {
	tx *sql.Tx
	n  *StatementCounter
}

func (c countingTx) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	c.n.Add(1)
	return c.tx.ExecContext(ctx, q, args...)
}

func (c countingTx) PrepareContext(ctx context.Context, q string) (*sql.Stmt, error) {
	return c.tx.PrepareContext(ctx, q)
}

func (c countingTx) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	c.n.Add(1)
	return c.tx.QueryContext(ctx, q, args...)
}

func (c countingTx) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	c.n.Add(1)
	return c.tx.QueryRowContext(ctx, q, args...)
}
