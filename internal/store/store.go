// Package store opens the worker's database, picks the SQL dialect and runs
// the generated queries of gen/db in transactions shaped for each engine.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"time"

	mssql "github.com/microsoft/go-mssqldb"
	"github.com/microsoft/go-mssqldb/azuread"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/ade-dev/ade-worker/gen/db"
)

// Options are the connection settings beside the URL. Zero values take the
// defaults noted on each field.
type Options struct {
	// DataDir is where the default SQLite file lives (<DataDir>/db/ade.sqlite).
	DataDir string
	// SQLiteJournalMode defaults to WAL.
	SQLiteJournalMode string
	// SQLiteSynchronous defaults to NORMAL.
	SQLiteSynchronous string
	// SQLiteBusyTimeout defaults to 30s: how long a writer waits for
	// another process's lock before SQLITE_BUSY.
	SQLiteBusyTimeout time.Duration
	// AuthMode is "sql_password" (default) or "managed_identity".
	AuthMode string
	// MIClientID selects a user-assigned managed identity.
	MIClientID string
	// PoolSize and MaxOverflow bound open connections (SQL Server):
	// PoolSize idle, PoolSize+MaxOverflow open. Defaults 5 and 10.
	PoolSize, MaxOverflow int
	// PoolTimeout bounds waiting for a connection at open (default 30s).
	PoolTimeout time.Duration
	// PoolRecycle is the longest a connection lives (default 30 min), kept
	// below Azure SQL's idle cut-off.
	PoolRecycle time.Duration
}

// Store is an open database.
type Store struct {
	db      *sql.DB
	dialect Dialect
	target  Target
	q       *db.Queries
	// writeMu serializes this process's SQLite writers so they queue in Go
	// instead of sleeping in SQLite's busy handler; other processes are
	// still arbitrated by busy_timeout.
	writeMu sync.Mutex
	// counter counts statements sent, for benchmarks.
	counter *StatementCounter
}

// Open parses rawURL (ADE_DATABASE_URL), connects and pings. The error
// names the database in its redacted form only.
func Open(ctx context.Context, rawURL string, o Options) (*Store, error) {
	t, err := ParseURL(rawURL, o.DataDir)
	if err != nil {
		return nil, err
	}
	return OpenTarget(ctx, t, o)
}

// OpenTarget opens an already parsed target.
func OpenTarget(ctx context.Context, t Target, o Options) (*Store, error) {
	var (
		sqldb *sql.DB
		err   error
	)
	switch t.Dialect {
	case SQLite:
		sqldb, err = openSQLite(t, o)
	case MSSQL:
		sqldb, err = openMSSQL(t, o)
	default:
		err = fmt.Errorf("unknown dialect %q", t.Dialect)
	}
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", t.Redacted, err)
	}
	timeout := o.PoolTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := sqldb.PingContext(pctx); err != nil {
		_ = sqldb.Close()
		return nil, fmt.Errorf("connect to database %s: %s", t.Redacted, MaskURL(err.Error()))
	}
	s := &Store{db: sqldb, dialect: t.Dialect, target: t}
	s.counter = &StatementCounter{}
	s.q = s.queriesOn(countingDBTX{inner: sqldb, n: s.counter})
	return s, nil
}

// queriesOn binds the generated queries to conn in the store's dialect: on
// SQL Server every statement is swapped for its T-SQL twin.
func (s *Store) queriesOn(conn db.DBTX) *db.Queries {
	if s.dialect == MSSQL {
		return db.NewMSSQL(conn)
	}
	return db.New(conn)
}

func openSQLite(t Target, o Options) (*sql.DB, error) {
	journal := orDefault(o.SQLiteJournalMode, "WAL")
	syncMode := orDefault(o.SQLiteSynchronous, "NORMAL")
	busy := o.SQLiteBusyTimeout
	if busy <= 0 {
		busy = 30 * time.Second
	}
	path := t.SQLitePath
	memory := path == ":memory:"
	if !memory {
		abs, err := filepath.Abs(path)
		if err != nil {
			return nil, err
		}
		path = abs
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, fmt.Errorf("create database folder: %w", err)
		}
	}
	// _txlock=immediate makes every BeginTx a BEGIN IMMEDIATE: the write lock
	// is taken before the first read, so a transaction never has to upgrade
	// a stale read snapshot (SQLITE_BUSY_SNAPSHOT, which no timeout retries).
	dsn := fmt.Sprintf("file:%s?_txlock=immediate&_pragma=busy_timeout(%d)&_pragma=foreign_keys(1)&_pragma=synchronous(%s)",
		path, busy.Milliseconds(), syncMode)
	if memory {
		dsn = fmt.Sprintf("file::memory:?_txlock=immediate&_pragma=busy_timeout(%d)&_pragma=foreign_keys(1)", busy.Milliseconds())
	} else {
		dsn += fmt.Sprintf("&_pragma=journal_mode(%s)", journal)
	}
	sqldb, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	if memory {
		// Every connection to :memory: is its own empty database.
		sqldb.SetMaxOpenConns(1)
	} else {
		sqldb.SetMaxOpenConns(8)
		sqldb.SetMaxIdleConns(8)
	}
	return sqldb, nil
}

func openMSSQL(t Target, o Options) (*sql.DB, error) {
	u := *t.MSSQL
	var (
		connector *mssql.Connector
		err       error
	)
	if o.AuthMode == "managed_identity" {
		q := u.Query()
		q.Set("fedauth", azuread.ActiveDirectoryManagedIdentity)
		if o.MIClientID != "" {
			q.Set("user id", o.MIClientID)
		}
		u.User = nil
		u.RawQuery = q.Encode()
		connector, err = azuread.NewConnector(u.String())
	} else {
		connector, err = mssql.NewConnector(u.String())
	}
	if err != nil {
		return nil, errors.New(MaskURL(err.Error()))
	}
	sqldb := sql.OpenDB(connector)
	size := o.PoolSize
	if size <= 0 {
		size = 5
	}
	overflow := o.MaxOverflow
	if overflow < 0 {
		overflow = 0
	}
	recycle := o.PoolRecycle
	if recycle <= 0 {
		recycle = 30 * time.Minute
	}
	sqldb.SetMaxIdleConns(size)
	sqldb.SetMaxOpenConns(size + overflow)
	sqldb.SetConnMaxLifetime(recycle)
	// Azure SQL drops connections idle for about 30 minutes; retire them first.
	sqldb.SetConnMaxIdleTime(min(recycle, 4*time.Minute))
	return sqldb, nil
}

func orDefault(v, d string) string {
	if v == "" {
		return d
	}
	return v
}

// Dialect is the opened database's dialect.
func (s *Store) Dialect() Dialect { return s.dialect }

// Redacted is the database URL with the password masked.
func (s *Store) Redacted() string { return s.target.Redacted }

// DB is the connection pool.
func (s *Store) DB() *sql.DB { return s.db }

// Queries runs single statements outside a transaction (reads).
func (s *Store) Queries() *db.Queries { return s.q }

// Statements is the number of statements sent so far.
func (s *Store) Statements() int64 { return s.counter.Load() }

// Close closes the pool.
func (s *Store) Close() error { return s.db.Close() }

// Ping checks the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return errors.New(MaskURL(err.Error()))
	}
	return nil
}

// Write runs fn in one write transaction: BEGIN IMMEDIATE on SQLite; on SQL
// Server a read-committed transaction that is retried as a whole on deadlock
// and on Azure's transient errors (it rolled back, so a retry is safe).
// fn must not have effects outside the transaction, since it may run again.
func (s *Store) Write(ctx context.Context, fn func(q *db.Queries) error) error {
	if s.dialect == SQLite {
		s.writeMu.Lock()
		defer s.writeMu.Unlock()
		return s.tx(ctx, fn)
	}
	return retryTransient(ctx, func() error { return s.tx(ctx, fn) })
}

func (s *Store) tx(ctx context.Context, fn func(q *db.Queries) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	s.counter.Add(1)
	if err := fn(s.queriesOn(countingTx{tx: tx, n: s.counter})); err != nil {
		_ = tx.Rollback()
		return err
	}
	s.counter.Add(1)
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// transientCodes are SQL Server errors after which a whole transaction may
// simply be run again: deadlock victim, and Azure SQL's reconfiguration and
// throttling errors.
var transientCodes = map[int32]bool{
	1205: true, 40613: true, 40197: true, 40501: true, 49918: true, 49919: true,
	49920: true, 4060: true, 10928: true, 10929: true,
}

// IsTransient reports whether err is a SQL Server error worth retrying.
func IsTransient(err error) bool {
	var me mssql.Error
	if errors.As(err, &me) {
		return transientCodes[me.Number]
	}
	var mp *mssql.Error
	if errors.As(err, &mp) && mp != nil {
		return transientCodes[mp.Number]
	}
	return false
}

// retryTransient runs fn up to 6 times with capped, jittered backoff while it
// fails with a transient SQL Server error.
func retryTransient(ctx context.Context, fn func() error) error {
	delay := 50 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := fn()
		if err == nil || attempt >= 6 || !IsTransient(err) {
			return err
		}
		sleep := delay/2 + rand.N(delay)
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(sleep):
		}
		delay = min(delay*2, 2*time.Second)
	}
}
