package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
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
	s, err := Open(ctx, "sqlite:///"+path, Options{Create: true})
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
	s, err := Open(ctx, "sqlite:///"+path, Options{Create: true})
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

// TestSQLiteMissingFileIsNotCreated: without Create a missing file is
// ErrNoDatabase naming the path and where it came from, and neither the
// file nor its folder appears; with Create both are made.
func TestSQLiteMissingFileIsNotCreated(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dataDir := filepath.Join(t.TempDir(), "data")
	path := filepath.Join(dataDir, "db", "ade.sqlite")
	for _, url := range []string{"", "sqlite:///" + filepath.ToSlash(path)} {
		_, err := Open(ctx, url, Options{DataDir: dataDir})
		if !errors.Is(err, ErrNoDatabase) {
			t.Fatalf("open %q of a missing file: %v, want ErrNoDatabase", url, err)
		}
		for _, want := range []string{path, "migrate up"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("open %q: error %q does not mention %q", url, err, want)
			}
		}
		if _, err := os.Stat(dataDir); !os.IsNotExist(err) {
			t.Fatalf("open %q without Create made %s: %v", url, dataDir, err)
		}
	}
	_, err := Open(ctx, "", Options{DataDir: dataDir})
	if !strings.Contains(err.Error(), "ADE_WORKER_DATA_DIR") {
		t.Errorf("the default database's error does not say it came from ADE_WORKER_DATA_DIR: %v", err)
	}

	s, err := Open(ctx, "", Options{DataDir: dataDir, Create: true})
	if err != nil {
		t.Fatalf("open with Create: %v", err)
	}
	defer s.Close()
	if _, err := s.MigrateUp(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Probe(ctx); err != nil {
		t.Fatalf("probe of the created database: %v", err)
	}
}

// TestSQLiteRelativeURLSaysSo: sqlite:/// with a relative path names the
// working directory in its error, the usual slip being one slash too few.
func TestSQLiteRelativeURLSaysSo(t *testing.T) {
	t.Chdir(t.TempDir())
	_, err := Open(context.Background(), "sqlite:///etc/ade-missing.sqlite", Options{})
	if !errors.Is(err, ErrNoDatabase) || !strings.Contains(err.Error(), "relative to the working directory") {
		t.Fatalf("open of a relative missing path: %v", err)
	}
	if _, err := os.Stat("etc"); !os.IsNotExist(err) {
		t.Fatalf("a folder was made in the working directory: %v", err)
	}
}
