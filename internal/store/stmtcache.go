package store

import (
	"context"
	"database/sql"
	"sync"

	"github.com/ade-dev/ade-worker/gen/db"
)

// stmtCache keeps one prepared statement per query text for SQLite.
// Unprepared, every statement is compiled again each time it is sent, and
// for the claim and the ack compiling costs about as much as running them.
// database/sql keeps a prepared statement per connection, and Tx.StmtContext
// binds it to a transaction's connection without compiling it again. The
// queries are the fixed set of gen/db, so the cache stays small.
//
// SQL Server is left alone: go-mssqldb sends every statement as one
// sp_executesql either way, and the server caches its plans.
type stmtCache struct {
	db *sql.DB
	mu sync.Mutex
	m  map[string]*sql.Stmt
}

func newStmtCache(sqldb *sql.DB) *stmtCache {
	return &stmtCache{db: sqldb, m: map[string]*sql.Stmt{}}
}

// stmt returns q prepared, preparing it on first use (on another pooled
// connection, so a transaction in progress is not disturbed). It returns
// nil when q cannot be prepared: the caller then sends q unprepared, which
// reports the error where it belongs.
func (c *stmtCache) stmt(ctx context.Context, q string) *sql.Stmt {
	c.mu.Lock()
	st, ok := c.m[q]
	c.mu.Unlock()
	if ok {
		return st
	}
	st, err := c.db.PrepareContext(ctx, q)
	if err != nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if prev, ok := c.m[q]; ok {
		_ = st.Close()
		return prev
	}
	c.m[q] = st
	return st
}

func (c *stmtCache) close() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for q, st := range c.m {
		_ = st.Close()
		delete(c.m, q)
	}
}

// prepared sends statements as the cached prepared statements: bound to
// tx's connection inside a transaction (tx set), else on any pooled one.
// A query that cannot be prepared goes to plain, which reports its error.
type prepared struct {
	c     *stmtCache
	tx    *sql.Tx // nil outside a transaction
	plain db.DBTX // tx, or the pool
	// bound holds the statements already bound to tx. Tx.StmtContext makes
	// a new binding on every call, and the ack of a batch of runs sends the
	// same row insert hundreds of times in one transaction.
	bound *txStmts
}

// txStmts maps a cached statement to its binding to one transaction.
type txStmts struct {
	mu sync.Mutex // database/sql lets goroutines share a transaction
	m  map[*sql.Stmt]*sql.Stmt
}

// stmt is q's cached statement, bound to tx if there is one (nil: send q
// unprepared).
func (p prepared) stmt(ctx context.Context, q string) *sql.Stmt {
	st := p.c.stmt(ctx, q)
	if st == nil || p.tx == nil {
		return st
	}
	p.bound.mu.Lock()
	defer p.bound.mu.Unlock()
	b, ok := p.bound.m[st]
	if !ok {
		b = p.tx.StmtContext(ctx, st)
		p.bound.m[st] = b
	}
	return b
}

func (p prepared) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if st := p.stmt(ctx, q); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return p.plain.ExecContext(ctx, q, args...)
}

func (p prepared) PrepareContext(ctx context.Context, q string) (*sql.Stmt, error) {
	return p.plain.PrepareContext(ctx, q)
}

func (p prepared) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if st := p.stmt(ctx, q); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return p.plain.QueryContext(ctx, q, args...)
}

func (p prepared) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	if st := p.stmt(ctx, q); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return p.plain.QueryRowContext(ctx, q, args...)
}

// pooled is what single statements outside a transaction go through.
func (s *Store) pooled() db.DBTX {
	if s.stmts != nil {
		return prepared{c: s.stmts, plain: s.db}
	}
	return s.db
}

// inTx is what the statements of tx go through.
func (s *Store) inTx(tx *sql.Tx) db.DBTX {
	if s.stmts != nil {
		return prepared{c: s.stmts, tx: tx, plain: tx, bound: &txStmts{m: map[*sql.Stmt]*sql.Stmt{}}}
	}
	return tx
}
