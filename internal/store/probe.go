package store

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// sqliteHeader starts every SQLite database file.
const sqliteHeader = "SQLite format 3\x00"

// Probe is the readiness check: the database answers a real query and its
// schema is exactly current.
//
// On SQLite the check runs on a connection opened for it. A pooled
// connection keeps the file it opened even after that file is moved,
// deleted or replaced, and would go on answering from a file no other
// process sees; a fresh one reads what is at the path now. It opens the
// path read-only, so a missing file is reported instead of being created
// empty. The file's header is read first: with WAL, pages still in the
// log can mask a main file that was overwritten. On SQL Server the pool's
// connections are checked as they are: there a dead server fails them.
func (s *Store) Probe(ctx context.Context) error {
	if s.dialect != SQLite || s.target.SQLitePath == ":memory:" {
		if err := s.Ping(ctx); err != nil {
			return err
		}
		return s.CheckSchema(ctx)
	}
	path, err := filepath.Abs(s.target.SQLitePath)
	if err != nil {
		return err
	}
	if err := checkSQLiteHeader(path); err != nil {
		return fmt.Errorf("database %s: %w", s.target.Redacted, err)
	}
	sqldb, err := sql.Open("sqlite", fmt.Sprintf("file:%s?mode=ro&_pragma=busy_timeout(5000)", path))
	if err != nil {
		return fmt.Errorf("open database %s: %w", s.target.Redacted, err)
	}
	defer sqldb.Close()
	sqldb.SetMaxOpenConns(1)
	fresh := &Store{db: sqldb, dialect: s.dialect, target: s.target}
	return fresh.CheckSchema(ctx)
}

func checkSQLiteHeader(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	head := make([]byte, len(sqliteHeader))
	if _, err := io.ReadFull(f, head); err != nil || string(head) != sqliteHeader {
		return fmt.Errorf("%s is not a SQLite database", path)
	}
	return nil
}
