package dbwatch

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	_ "modernc.org/sqlite"
)

// walDB makes a WAL database in a folder of its own, with a table, and
// returns its path and a connection pool of its own.
func walDB(t *testing.T) (string, *sql.DB) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ade.sqlite")
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Exec("CREATE TABLE t (x INTEGER)"); err != nil {
		t.Fatal(err)
	}
	return path, db
}

func newWatcher(t *testing.T, path string) *Watcher {
	t.Helper()
	w, err := New(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

// waitFor runs Wait with a bound and returns its error.
func waitFor(w *Watcher, d time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return w.Wait(ctx)
}

func TestCommitEndsWait(t *testing.T) {
	path, db := walDB(t)
	w := newWatcher(t, path)
	if err := w.Arm(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- waitFor(w, 10*time.Second) }()
	time.Sleep(20 * time.Millisecond)
	if _, err := db.Exec("INSERT INTO t VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Wait after a commit: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a commit to the WAL did not end Wait")
	}
}

func TestRollbackJournalCommitEndsWait(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ade.sqlite")
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(DELETE)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("CREATE TABLE t (x INTEGER)"); err != nil {
		t.Fatal(err)
	}
	w := newWatcher(t, path)
	if err := w.Arm(); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("INSERT INTO t VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	if err := waitFor(w, 5*time.Second); err != nil {
		t.Fatalf("a commit in rollback-journal mode did not end Wait: %v", err)
	}
}

func TestOtherFilesOfTheFolderAreIgnored(t *testing.T) {
	path, _ := walDB(t)
	w := newWatcher(t, path)
	if err := w.Arm(); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(path)
	for _, name := range []string{"notes.txt", "ade.sqlite.bak", "ade.sqlite-shm-copy"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := waitFor(w, 300*time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait after writes to other files = %v, want the deadline", err)
	}
	// Still armed: the database's own file ends the next Wait.
	if err := os.WriteFile(path+"-wal", nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := waitFor(w, 5*time.Second); err != nil {
		t.Fatalf("Wait after a write to the -wal file: %v", err)
	}
}

func TestWritesWhileDisarmedAreNotReported(t *testing.T) {
	path, db := walDB(t)
	w := newWatcher(t, path)
	if err := w.Arm(); err != nil {
		t.Fatal(err)
	}
	// Reported while armed but never waited for: dropped by the next Arm.
	if _, err := db.Exec("INSERT INTO t VALUES (0)"); err != nil {
		t.Fatal(err)
	}
	w.Disarm()
	if err := waitFor(w, time.Second); err != nil {
		t.Fatalf("Wait while disarmed = %v, want an immediate nil", err)
	}
	if _, err := db.Exec("INSERT INTO t VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	if err := w.Arm(); err != nil {
		t.Fatal(err)
	}
	if err := waitFor(w, 300*time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait after a commit made while disarmed = %v, want the deadline", err)
	}
	if _, err := db.Exec("INSERT INTO t VALUES (2)"); err != nil {
		t.Fatal(err)
	}
	if err := waitFor(w, 5*time.Second); err != nil {
		t.Fatalf("Wait after a commit made while armed again: %v", err)
	}
}

func TestCancelEndsWaitAndTheNextWaitStillWorks(t *testing.T) {
	path, db := walDB(t)
	w := newWatcher(t, path)
	if err := w.Arm(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Wait(ctx) }()
	time.Sleep(20 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Wait after cancel = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("cancel did not end Wait")
	}
	if _, err := db.Exec("INSERT INTO t VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	if err := waitFor(w, 5*time.Second); err != nil {
		t.Fatalf("Wait after a cancelled one: %v", err)
	}
}

func TestRemovedFolderIsReported(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "db")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	w := newWatcher(t, filepath.Join(dir, "ade.sqlite"))
	if err := w.Arm(); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := waitFor(w, 5*time.Second); !errors.Is(err, ErrFolderGone) {
		t.Fatalf("Wait after the folder was removed = %v, want ErrFolderGone", err)
	}
}

func TestMissingFolderFailsToArm(t *testing.T) {
	w := newWatcher(t, filepath.Join(t.TempDir(), "absent", "ade.sqlite"))
	if err := w.Arm(); err == nil {
		t.Fatal("Arm on a missing folder succeeded")
	}
}
