// Package store opens the worker's database, picks the SQL dialect and runs
// the generated queries of gen/db in transactions shaped for each engine.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/ade-dev/ade-worker/gen/db"
)

// Options are the connection settings beside the URL. The worker's commands
// build them from the settings with config.Config.StoreOptions, where every
// default is; a zero field (tests, tools) is read as its field says.
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
	// PoolSize idle, PoolSize+MaxOverflow open. A PoolSize of 0 is read
	// as 5, a MaxOverflow of 0 as none.
	PoolSize, MaxOverflow int
	// PoolTimeout bounds the first connection at open and, on SQL Server,
	// the dial of every new connection unless the URL sets its own dial
	// timeout (default 30s).
	PoolTimeout time.Duration
	// PoolRecycle is the longest a SQL Server connection lives. It is
	// capped at maxConnLifetime, below Azure SQL's idle cut-off; zero means
	// the cap.
	PoolRecycle time.Duration
	// Create makes a SQLite file that does not exist yet, and its folder.
	// Without it a missing file is ErrNoDatabase: only creating the schema
	// (migrate up, ADE_WORKER_AUTO_CREATE_SCHEMA) makes a new database, so a
	// wrong path is reported instead of becoming an empty database.
	Create bool
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
	// wconn is the connection this process's SQLite write transactions use
	// (SQLite files only; guarded by writeMu). SQLite drops a connection's
	// page cache whenever another connection has committed since its last
	// transaction, so writes spread over the pool re-read every page they
	// touch; on one connection they find them cached.
	wconn *sql.Conn
	// counter counts statements sent, for benchmarks.
	counter *StatementCounter
	// stmts holds prepared statements (SQLite files only; nil otherwise).
	stmts *stmtCache
}

// Open parses rawURL (ADE_DATABASE_URL), connects and pings. The error
// names the database in its redacted form only.
func Open(ctx context.Context, rawURL string, o Options) (*Store, error) {
	t, err := ParseURL(rawURL, o.DataDir)
	if err != nil {
		return nil, err
	}
	if t.Dialect == SQLite && o.DataDir != "" && samePath(t.SQLitePath, defaultSQLitePath(o.DataDir)) {
		// The settings fill an unset ADE_DATABASE_URL in with this path.
		t.Origin = defaultSQLiteOrigin
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
	pctx, cancel := context.WithTimeout(ctx, poolTimeout(o))
	defer cancel()
	if err := sqldb.PingContext(pctx); err != nil {
		_ = sqldb.Close()
		return nil, fmt.Errorf("connect to database %s: %s", t.Redacted, MaskURL(err.Error()))
	}
	s := &Store{db: sqldb, dialect: t.Dialect, target: t}
	s.counter = &StatementCounter{}
	if t.Dialect == SQLite && t.SQLitePath != ":memory:" {
		// Not for :memory:, whose single connection a transaction holds:
		// a statement prepared during it would wait for that connection.
		s.stmts = newStmtCache(sqldb)
	}
	var conn db.DBTX = countingDBTX{inner: s.pooled(), n: s.counter}
	if t.Dialect == MSSQL {
		// Single statements outside a transaction are retried on transient
		// errors; a transaction is retried whole by Write instead.
		conn = retryingDBTX{inner: conn, policy: defaultRetry}
	}
	s.q = s.queriesOn(conn)
	return s, nil
}

// queriesOn binds the generated queries to conn in the store's dialect: on
// SQL Server every statement is swapped for its T-SQL twin, and its
// arguments are typed for go-mssqldb (mssqlArgs).
func (s *Store) queriesOn(conn db.DBTX) *db.Queries {
	if s.dialect == MSSQL {
		return db.NewMSSQLWithArgs(conn, mssqlArgs)
	}
	return db.New(conn)
}

// openSQLite opens the SQLite database of t.
//
// Once a connection is open, nothing but SQLite itself may open or close
// the database file, its -wal or its -shm: POSIX locks belong to the
// process, and closing any descriptor of a file drops every lock the
// process holds on it. Another process (the API, the sqlite3 shell) would
// then believe itself alone, checkpoint and delete the WAL under this
// one's feet. So the file is only ever looked at with stat, and a new file
// is made by SQLite (createSQLite), before any connection of this store.
func openSQLite(t Target, o Options) (*sql.DB, error) {
	busy := o.SQLiteBusyTimeout
	if busy <= 0 {
		busy = 30 * time.Second
	}
	if t.SQLitePath == ":memory:" {
		return sqliteMemory(fmt.Sprintf("file::memory:?_txlock=immediate&_pragma=busy_timeout(%d)&_pragma=foreign_keys(1)", busy.Milliseconds()))
	}
	path, err := filepath.Abs(t.SQLitePath)
	if err != nil {
		return nil, err
	}
	if err := ensureSQLiteFile(path, t, o.Create); err != nil {
		return nil, err
	}
	// _txlock=immediate makes every BeginTx a BEGIN IMMEDIATE: the write lock
	// is taken before the first read, so a transaction never has to upgrade
	// a stale read snapshot (SQLITE_BUSY_SNAPSHOT, which no timeout retries).
	// mode=rw opens without create: connections use the file only while it
	// is still the one they opened (see sqliteFile).
	dsn := fmt.Sprintf("file:%s?mode=rw&_txlock=immediate&_pragma=busy_timeout(%d)&_pragma=foreign_keys(1)&_pragma=synchronous(%s)&_pragma=journal_mode(%s)",
		path, busy.Milliseconds(), orDefault(o.SQLiteSynchronous, "NORMAL"), orDefault(o.SQLiteJournalMode, "WAL"))
	connector, err := (&sqliteFile{path: path}).connector(dsn)
	if err != nil {
		return nil, err
	}
	sqldb := sql.OpenDB(connector)
	sqldb.SetMaxOpenConns(8)
	sqldb.SetMaxIdleConns(8)
	return sqldb, nil
}

func sqliteMemory(dsn string) (*sql.DB, error) {
	sqldb, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	// Every connection to :memory: is its own empty database.
	sqldb.SetMaxOpenConns(1)
	return sqldb, nil
}

// samePath reports whether a and b name the same path once made absolute.
func samePath(a, b string) bool {
	absA, errA := filepath.Abs(a)
	absB, errB := filepath.Abs(b)
	return errA == nil && errB == nil && absA == absB
}

func orDefault(v, d string) string {
	if v == "" {
		return d
	}
	return v
}

// Dialect is the opened database's dialect.
func (s *Store) Dialect() Dialect { return s.dialect }

// InMemory reports a sqlite:///:memory: database, which lives in the
// store's single connection.
func (s *Store) InMemory() bool { return s.dialect == SQLite && s.target.SQLitePath == ":memory:" }

// Redacted is the database URL with the password masked.
func (s *Store) Redacted() string { return s.target.Redacted }

// Target is the parsed URL the store was opened with, so that tests can
// open more connection pools on the same database.
func (s *Store) Target() Target { return s.target }

// DB is the connection pool.
func (s *Store) DB() *sql.DB { return s.db }

// Queries runs single statements outside a transaction (reads, and the
// single-statement writes such as heartbeats). On SQL Server a statement
// that fails with a transient error before returning rows is sent again:
// SQL Server rolled it back, so sending it again is safe.
func (s *Store) Queries() *db.Queries { return s.q }

// Statements is the number of statements sent so far.
func (s *Store) Statements() int64 { return s.counter.Load() }

// Close closes the pool.
func (s *Store) Close() error {
	s.writeMu.Lock()
	s.dropWriteConn()
	s.writeMu.Unlock()
	s.stmts.close()
	return s.db.Close()
}

// Ping checks the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return errors.New(MaskURL(err.Error()))
	}
	return nil
}

// Write runs fn in one write transaction: BEGIN IMMEDIATE on SQLite; on SQL
// Server a read-committed transaction that is retried as a whole on deadlock,
// on Azure's transient errors and when its connection drops (it rolled
// back, so a retry is safe). A commit whose connection dropped is not
// retried: it may have committed (ErrCommitUnknown). fn must not have
// effects outside the transaction, since it may run again.
func (s *Store) Write(ctx context.Context, fn func(q *db.Queries) error) error {
	if s.dialect == SQLite {
		s.writeMu.Lock()
		defer s.writeMu.Unlock()
		return s.tx(ctx, fn)
	}
	return retryTransient(ctx, func() error { return s.tx(ctx, fn) })
}

func (s *Store) tx(ctx context.Context, fn func(q *db.Queries) error) error {
	tx, err := s.begin(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	s.counter.Add(1)
	if err := fn(s.queriesOn(countingDBTX{inner: s.inTx(tx), n: s.counter})); err != nil {
		_ = tx.Rollback()
		return err
	}
	s.counter.Add(1)
	if err := tx.Commit(); err != nil {
		s.dropWriteConn()
		return commitFailed(err)
	}
	return nil
}

// begin starts a write transaction: on a SQLite file on wconn (opened on
// first use, and again after a failure), elsewhere on any pooled
// connection.
func (s *Store) begin(ctx context.Context) (*sql.Tx, error) {
	if s.dialect != SQLite || s.stmts == nil {
		return s.db.BeginTx(ctx, nil)
	}
	if s.wconn == nil {
		c, err := s.db.Conn(ctx)
		if err != nil {
			return nil, err
		}
		s.wconn = c
	}
	tx, err := s.wconn.BeginTx(ctx, nil)
	if err != nil {
		// The connection may be broken (its file gone, say): the next
		// transaction gets another.
		s.dropWriteConn()
	}
	return tx, err
}

// dropWriteConn closes wconn, if any.
func (s *Store) dropWriteConn() {
	if s.wconn != nil {
		_ = s.wconn.Close()
		s.wconn = nil
	}
}
