package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ade-dev/ade-worker/gen/db"
)

// TestSQLiteFileMovedAway: while the database file is not at its path,
// every statement fails with ErrDatabaseFileGone (SQLite alone would go on
// writing into the moved file) and no new file appears at the path; once
// it is back, the same store works again.
func TestSQLiteFileMovedAway(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	path := filepath.Join(dir, "ade.sqlite")
	s, err := Open(ctx, "sqlite:///"+path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.MigrateUp(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Queries().CountRunsByStatus(ctx); err != nil {
		t.Fatal(err)
	}

	away := filepath.Join(dir, "away")
	if err := os.Mkdir(away, 0o755); err != nil {
		t.Fatal(err)
	}
	names := []string{"ade.sqlite", "ade.sqlite-wal", "ade.sqlite-shm"}
	move := func(from, to string) {
		for _, n := range names {
			if err := os.Rename(filepath.Join(from, n), filepath.Join(to, n)); err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
		}
	}
	move(dir, away)
	if _, err := s.Queries().CountRunsByStatus(ctx); !errors.Is(err, ErrDatabaseFileGone) {
		t.Fatalf("read with the file gone: %v, want ErrDatabaseFileGone", err)
	}
	if err := s.Ping(ctx); err == nil {
		t.Fatal("ping succeeded with the file gone")
	}
	if err := s.Write(ctx, func(q *db.Queries) error { return nil }); !errors.Is(err, ErrDatabaseFileGone) {
		t.Fatalf("write with the file gone: %v, want ErrDatabaseFileGone", err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("a file appeared at the database path: %v", err)
	}

	move(away, dir)
	if _, err := s.Queries().CountRunsByStatus(ctx); err != nil {
		t.Fatalf("read with the file back: %v", err)
	}
	if err := s.Write(ctx, func(q *db.Queries) error { return nil }); err != nil {
		t.Fatalf("write with the file back: %v", err)
	}
}

// TestSQLiteFileReplaced: a different file put at the path is used by new
// connections; connections to the old one are not used again.
func TestSQLiteFileReplaced(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	path := filepath.Join(dir, "ade.sqlite")
	s, err := Open(ctx, "sqlite:///"+path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.MigrateUp(ctx); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"", "-wal", "-shm"} {
		_ = os.Remove(path + n)
	}
	// An empty file is an empty database: the schema is gone with the old one.
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = s.Queries().CountRunsByStatus(ctx)
	if err == nil || errors.Is(err, ErrDatabaseFileGone) {
		t.Fatalf("read from the replacement: %v, want the new (empty) database's own error", err)
	}
}
