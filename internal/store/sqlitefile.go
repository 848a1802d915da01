package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"
)

// ErrDatabaseFileGone is wrapped by the error of every statement sent while
// the SQLite file a connection opened is no longer at its path.
var ErrDatabaseFileGone = errors.New("database file is gone")

// lockWaitNotice is how long a statement may wait for another connection's
// lock before the wait is logged.
const lockWaitNotice = 2 * time.Second

// sqliteFile keeps a SQLite store on the file its path names.
//
// SQLite goes on using a file it has open after the file is renamed or
// deleted, and opening a missing path creates a new, empty database. So when
// the database file vanishes (moved away, deleted, a volume swapped), a
// worker would go on heartbeating and acknowledging runs into a file nobody
// reads, or into an empty one it made itself. Instead every connection
// checks, before each statement, that the path still names the file it
// opened; until it does again, statements fail with ErrDatabaseFileGone and
// the connection is discarded. Connections open the file read-write without
// create, so a missing file stays missing. When a file is back at the path
// (the same one, or another put there), new connections use it.
//
// It also logs waits for another process's lock (a long write transaction
// of the API, a backup), which SQLite otherwise spends silently in its busy
// handler.
//
// Its log lines go to slog's default logger, which the worker sets to its own.
type sqliteFile struct {
	path    string
	waiting atomic.Int32 // statements waiting longer than lockWaitNotice
}

// ErrNoDatabase is wrapped by the error of opening a SQLite file that does
// not exist without Options.Create.
var ErrNoDatabase = errors.New("database file does not exist")

// ensureSQLiteFile checks that path exists, or with create makes it (and
// its folder) through SQLite itself, before any connection of the store is
// open. A missing file without create is ErrNoDatabase, with where the path
// came from.
func ensureSQLiteFile(path string, t Target, create bool) error {
	_, err := os.Stat(path)
	switch {
	case err == nil:
		return nil
	case !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("database file %s: %w", path, err)
	case !create:
		return fmt.Errorf("%w: %s (%s); create it with `ade-worker migrate up` or ADE_WORKER_AUTO_CREATE_SCHEMA=1",
			ErrNoDatabase, path, t.Origin)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("create database folder: %w", err)
	}
	return createSQLite(path)
}

// createSQLite makes an empty database file at path by opening it through
// SQLite with create allowed. SQLite closes its own descriptors without
// dropping locks that other connections of this process hold.
func createSQLite(path string) error {
	sqldb, err := sql.Open("sqlite", fmt.Sprintf("file:%s?mode=rwc", path))
	if err != nil {
		return fmt.Errorf("create database file: %w", err)
	}
	defer sqldb.Close()
	if err := sqldb.Ping(); err != nil {
		return fmt.Errorf("create database file %s: %w", path, err)
	}
	return nil
}

// identity is the file at the path now.
func (f *sqliteFile) identity() (os.FileInfo, error) {
	info, err := os.Stat(f.path)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrDatabaseFileGone, f.path, err)
	}
	return info, nil
}

// connector opens guarded connections with dsn (which must open without
// create: mode=rw).
func (f *sqliteFile) connector(dsn string) (driver.Connector, error) {
	inner, err := sqlite.NewConnector(dsn)
	if err != nil {
		return nil, err
	}
	return &sqliteConnector{inner: inner, file: f}, nil
}

type sqliteConnector struct {
	inner driver.Connector
	file  *sqliteFile
}

// sqliteDriverConn is what the driver's connections implement; wrapping
// them must keep every one of these, or database/sql falls back to slower,
// context-free paths.
type sqliteDriverConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

func (c *sqliteConnector) Connect(ctx context.Context) (driver.Conn, error) {
	before, err := c.file.identity()
	if err != nil {
		return nil, err
	}
	open, err := acquireFile(c.file.path, before)
	if err != nil {
		return nil, err
	}
	conn, err := c.inner.Connect(ctx)
	if err != nil {
		releaseFile(open)
		return nil, err
	}
	inner, ok := conn.(sqliteDriverConn)
	if !ok {
		_ = conn.Close()
		releaseFile(open)
		return nil, fmt.Errorf("sqlite driver connection %T lacks a context method", conn)
	}
	after, err := c.file.identity()
	if err != nil || !os.SameFile(before, after) {
		_ = conn.Close()
		releaseFile(open)
		return nil, fmt.Errorf("%w: %s changed while it was being opened", ErrDatabaseFileGone, c.file.path)
	}
	return &sqliteConn{inner: inner, file: c.file, id: before, open: open}, nil
}

func (c *sqliteConnector) Driver() driver.Driver { return c.inner.Driver() }

// sqliteConn is one connection, bound to the file it opened.
type sqliteConn struct {
	inner sqliteDriverConn
	file  *sqliteFile
	id    os.FileInfo
	open  *openFile // released when the connection closes
}

// check fails when the path no longer names this connection's file.
func (c *sqliteConn) check() error {
	now, err := c.file.identity()
	if err != nil {
		return err
	}
	if !os.SameFile(now, c.id) {
		return fmt.Errorf("%w: %s is another file than the one this connection opened (moved or replaced)", ErrDatabaseFileGone, c.file.path)
	}
	return nil
}

func (c *sqliteConn) Prepare(q string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), q)
}

func (c *sqliteConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	return c.inner.PrepareContext(ctx, q)
}

func (c *sqliteConn) Close() error {
	err := c.inner.Close()
	releaseFile(c.open)
	return err
}

func (c *sqliteConn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

// BeginTx is where a writer waits for the write lock (BEGIN IMMEDIATE).
func (c *sqliteConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	defer c.file.noticeWait()()
	return c.inner.BeginTx(ctx, opts)
}

func (c *sqliteConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	defer c.file.noticeWait()()
	return c.inner.ExecContext(ctx, q, args)
}

func (c *sqliteConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	return c.inner.QueryContext(ctx, q, args)
}

func (c *sqliteConn) Ping(ctx context.Context) error {
	if err := c.check(); err != nil {
		return err
	}
	return c.inner.Ping(ctx)
}

// ResetSession runs before a pooled connection is reused: one whose file
// is gone is discarded.
func (c *sqliteConn) ResetSession(ctx context.Context) error {
	if c.check() != nil {
		return driver.ErrBadConn
	}
	return c.inner.ResetSession(ctx)
}

// IsValid runs when a connection goes back to the pool.
func (c *sqliteConn) IsValid() bool { return c.check() == nil && c.inner.IsValid() }

// noticeWait logs, once per episode, that statements have been waiting
// longer than lockWaitNotice for a lock, and then how long the wait was.
// Call the function it returns when the statement is done.
func (f *sqliteFile) noticeWait() func() {
	start := time.Now()
	fired := make(chan struct{})
	t := time.AfterFunc(lockWaitNotice, func() {
		defer close(fired)
		if f.waiting.Add(1) == 1 {
			slog.Warn("database is locked by another connection; waiting for it", slog.String("database", f.path),
				slog.Duration("waited", time.Since(start)))
		}
	})
	return func() {
		if t.Stop() {
			return
		}
		<-fired
		if f.waiting.Add(-1) == 0 {
			slog.Info("database lock released; continuing", slog.String("database", f.path), slog.Duration("waited", time.Since(start)))
		}
	}
}
