package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/ade-dev/ade-worker/sql/schema"
)

// ErrSchemaBehind means the database lacks migrations this binary has.
var ErrSchemaBehind = errors.New("database schema is behind this worker")

// ErrSchemaAhead means the database has migrations this binary does not
// know: a newer worker (or API) migrated it, and this one must not run.
var ErrSchemaAhead = errors.New("database schema is ahead of this worker")

// SchemaState is where the database stands against the embedded migrations.
type SchemaState struct {
	Current int64 // applied version, 0 when none
	Latest  int64 // newest embedded migration
	Pending []int64
}

func (s *Store) provider() (*goose.Provider, error) {
	sub, err := fs.Sub(schema.FS, string(s.dialect))
	if err != nil {
		return nil, err
	}
	if s.dialect == MSSQL {
		// goose takes the lock on the connection it then migrates on.
		return goose.NewProvider(goose.DialectMSSQL, s.db, sub, goose.WithSessionLocker(applockLocker{s: s}))
	}
	return goose.NewProvider(goose.DialectSQLite3, s.db, sub)
}

// migrationLockWait is how long a migrator waits for another to finish.
const migrationLockWait = 5 * time.Minute

// applockLocker is goose's session locker on SQL Server: an exclusive,
// session-owned sp_getapplock on the connection goose then runs every
// migration on, each in its own transaction. The lock and the migrations
// share one session, so the lock cannot end while a migration still runs:
// if the connection drops, SQL Server releases the lock and rolls the open
// migration back together. Five workers starting at once with
// ADE_WORKER_AUTO_CREATE_SCHEMA=1 queue on the lock; the first migrates,
// the others find nothing pending.
type applockLocker struct{ s *Store }

func (l applockLocker) SessionLock(ctx context.Context, conn *sql.Conn) error {
	if err := l.s.queriesOn(conn).AcquireMigrationLock(ctx, migrationLockWait.Milliseconds()); err != nil {
		return fmt.Errorf("take migration lock: %s", MaskURL(err.Error()))
	}
	return nil
}

func (l applockLocker) SessionUnlock(ctx context.Context, conn *sql.Conn) error {
	if err := l.s.queriesOn(conn).ReleaseMigrationLock(ctx); err != nil {
		return fmt.Errorf("release migration lock: %s", MaskURL(err.Error()))
	}
	return nil
}

// SchemaStatus compares the database with the embedded migrations.
func (s *Store) SchemaStatus(ctx context.Context) (SchemaState, error) {
	p, err := s.provider()
	if err != nil {
		return SchemaState{}, fmt.Errorf("load migrations: %w", err)
	}
	st := SchemaState{}
	for _, src := range p.ListSources() {
		st.Latest = max(st.Latest, src.Version)
	}
	cur, err := p.GetDBVersion(ctx)
	if err != nil {
		return st, fmt.Errorf("read schema version: %s", MaskURL(err.Error()))
	}
	st.Current = cur
	statuses, err := p.Status(ctx)
	if err != nil {
		return st, fmt.Errorf("read migration status: %s", MaskURL(err.Error()))
	}
	for _, ms := range statuses {
		if ms.State == goose.StatePending {
			st.Pending = append(st.Pending, ms.Source.Version)
		}
	}
	return st, nil
}

// CheckSchema returns nil when the database is exactly current,
// ErrSchemaBehind (wrapped) when migrations are pending, and ErrSchemaAhead
// when the database is newer than this binary.
func (s *Store) CheckSchema(ctx context.Context) error {
	st, err := s.SchemaStatus(ctx)
	if err != nil {
		return err
	}
	if st.Current > st.Latest {
		return fmt.Errorf("%w: database is at version %d, this worker knows up to %d; upgrade ade-worker", ErrSchemaAhead, st.Current, st.Latest)
	}
	if len(st.Pending) > 0 {
		return fmt.Errorf("%w: database is at version %d, this worker needs %d; run `ade-worker migrate up` or set ADE_WORKER_AUTO_CREATE_SCHEMA=1", ErrSchemaBehind, st.Current, st.Latest)
	}
	return nil
}

// MigrateUp applies every pending migration. It refuses a database that is
// ahead of this binary. On SQL Server an application lock makes concurrent
// starts migrate once.
func (s *Store) MigrateUp(ctx context.Context) ([]int64, error) {
	var applied []int64
	err := s.withMigrationLock(ctx, func() error {
		st, err := s.SchemaStatus(ctx)
		if err != nil {
			return err
		}
		if st.Current > st.Latest {
			return fmt.Errorf("%w: database is at version %d, this worker knows up to %d; upgrade ade-worker", ErrSchemaAhead, st.Current, st.Latest)
		}
		p, err := s.provider()
		if err != nil {
			return err
		}
		res, err := p.Up(ctx)
		for _, r := range res {
			if r.Error == nil {
				applied = append(applied, r.Source.Version)
			}
		}
		if err != nil {
			return fmt.Errorf("migrate up: %s", MaskURL(err.Error()))
		}
		return nil
	})
	return applied, err
}

// MigrateDown rolls back the newest applied migration.
func (s *Store) MigrateDown(ctx context.Context) (int64, error) {
	var version int64
	err := s.withMigrationLock(ctx, func() error {
		p, err := s.provider()
		if err != nil {
			return err
		}
		r, err := p.Down(ctx)
		if err != nil {
			if errors.Is(err, goose.ErrNoNextVersion) {
				return errors.New("migrate down: no migration to roll back")
			}
			return fmt.Errorf("migrate down: %s", MaskURL(err.Error()))
		}
		if r != nil {
			version = r.Source.Version
		}
		return nil
	})
	return version, err
}

// withMigrationLock holds the migration lock for fn. On SQL Server goose
// itself takes it (applockLocker), on the connection it migrates on. On
// SQLite, goose's own transactions do not stop two processes from both
// reading "version 0" and both applying the first migration, so a file lock
// beside the database serializes them (the lock queries are no-ops there).
func (s *Store) withMigrationLock(ctx context.Context, fn func() error) error {
	if s.dialect == MSSQL {
		return fn()
	}
	if s.InMemory() {
		// One process, one connection: nothing to serialize, and pinning
		// the only connection would leave goose none.
		return fn()
	}
	unlock, err := lockFile(ctx, s.target.SQLitePath+".migrate-lock")
	if err != nil {
		return fmt.Errorf("take migration lock: %w", err)
	}
	defer unlock()
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("migration lock: %s", MaskURL(err.Error()))
	}
	defer conn.Close()
	q := s.queriesOn(conn)
	if err := q.AcquireMigrationLock(ctx, migrationLockWait.Milliseconds()); err != nil {
		return fmt.Errorf("take migration lock: %s", MaskURL(err.Error()))
	}
	defer func() { _ = q.ReleaseMigrationLock(context.WithoutCancel(ctx)) }()
	return fn()
}
