package store

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ade-dev/ade-worker/gen/db"
)

// walStore is a migrated SQLite file in WAL mode, and its path.
func walStore(ctx context.Context, t *testing.T) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ade.sqlite")
	s, err := Open(ctx, "sqlite:///"+path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if _, err := s.MigrateUp(ctx); err != nil {
		t.Fatal(err)
	}
	if s.ckpt == nil {
		t.Fatal("a SQLite file in WAL mode has no background checkpointer")
	}
	return s, path
}

// bulkyURI makes each document row carry 4 KB, so each commit that
// inserts one writes several pages.
var bulkyURI = "file:" + strings.Repeat("x", 4000)

// insertDoc commits one document with a 4 KB row.
func insertDoc(ctx context.Context, s *Store, id string) error {
	return s.Write(ctx, func(q *db.Queries) error {
		return q.InsertDocument(ctx, db.InsertDocumentParams{ID: id, WorkspaceID: "ws", OriginalFilename: "in.csv", StoredUri: bulkyURI})
	})
}

// TestBackgroundCheckpointsKeepTheWALShort: with two goroutines committing
// as fast as they can, the background checkpoints copy the log into the
// database and, once it is long, finish under the write lock so that it
// starts over. The log file never grows much past that length, while far
// more than that is written (without the checkpointer it would grow to
// everything written, up to the backstop of 8,000 pages).
func TestBackgroundCheckpointsKeepTheWALShort(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, path := walStore(ctx, t)
	const restartPages = 200
	s.ckpt.everyCommits, s.ckpt.restartPages = 8, restartPages
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for g := range 2 {
		wg.Go(func() {
			for i := range 750 {
				if err := insertDoc(ctx, s, fmt.Sprintf("doc-%d-%d", g, i)); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	dbInfo, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	walInfo, err := os.Stat(path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	runs, restarts := s.ckpt.runs.Load(), s.ckpt.restarts.Load()
	t.Logf("database %d KiB, WAL %d KiB, %d checkpoints, %d under the write lock", dbInfo.Size()>>10, walInfo.Size()>>10, runs, restarts)
	if runs == 0 || restarts == 0 {
		t.Errorf("%d checkpoints ran, %d of them under the write lock; want both > 0", runs, restarts)
	}
	// The log starts over once it passes restartPages; what two writers
	// append while a checkpoint runs comes on top (on a loaded machine, a
	// lot on top). Without the checkpointer it grows to 32 MB, the
	// backstop, since the writers log more than that.
	if limit := int64(12 << 20); walInfo.Size() > limit {
		t.Errorf("the WAL grew to %d bytes, over %d: it did not start over", walInfo.Size(), limit)
	}
}

// TestNoCheckpointerOutsideWAL: a SQLite file in another journal mode, or
// in memory, has no background checkpointer.
func TestNoCheckpointerOutsideWAL(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, "sqlite:///"+filepath.Join(t.TempDir(), "ade.sqlite"), Options{SQLiteJournalMode: "DELETE"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.ckpt != nil {
		t.Error("journal_mode DELETE has a WAL checkpointer")
	}
	m, err := Open(ctx, "sqlite:///:memory:", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if m.ckpt != nil {
		t.Error("an in-memory database has a WAL checkpointer")
	}
}

// TestCheckpointerWithALongReader: a reader that keeps the WAL in use (an
// open read transaction on another connection, as a report of the API's
// would) stops the log from starting over, but not the writers: the
// RESTART checkpoint gives up after its short busy wait and reports busy,
// the next ones back off, every write commits, and once the reader ends
// the log starts over again.
func TestCheckpointerWithALongReader(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, path := walStore(ctx, t)
	s.ckpt.everyCommits, s.ckpt.restartPages, s.ckpt.minBackoff = 8, 100, 50*time.Millisecond
	write := func(from, n int) {
		t.Helper()
		for i := from; i < from+n; i++ {
			if err := insertDoc(ctx, s, fmt.Sprintf("doc-%d", i)); err != nil {
				t.Fatalf("write %d: %v", i, err)
			}
		}
	}
	write(0, 50)
	// The reader: a read transaction that has read a page, held open.
	reader, err := s.DB().Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rtx, err := reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.New(rtx).GetDocument(ctx, db.GetDocumentParams{ID: "doc-1", WorkspaceID: "ws"}); err != nil {
		t.Fatal(err)
	}
	runs0 := s.ckpt.runs.Load()
	write(50, 400)
	blocked, cycles := s.ckpt.blocked.Load(), s.ckpt.runs.Load()-runs0
	if blocked == 0 {
		t.Fatalf("no RESTART checkpoint was kept from finishing by the reader (%d tried)", s.ckpt.restarts.Load())
	}
	// They back off: the writers were held at a few checkpoints, not at
	// every one.
	if blocked*4 > cycles {
		t.Errorf("%d RESTART checkpoints waited for the reader in %d checkpoint statements; they should back off", blocked, cycles)
	}
	_ = rtx.Rollback()
	_ = reader.Close()
	// With the reader gone the log starts over again once a RESTART
	// checkpoint finishes (after the backoff); what later writes append
	// then goes to its beginning, so the file stops growing.
	restarted := s.ckpt.restarted.Load()
	deadline := time.Now().Add(time.Minute)
	for i := 450; s.ckpt.restarted.Load() == restarted; i += 10 {
		if time.Now().After(deadline) {
			t.Fatal("no RESTART checkpoint finished within a minute of the reader's end")
		}
		write(i, 10)
	}
	write(100_000, 100)
	settled, err := os.Stat(path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	write(200_000, 400)
	after, err := os.Stat(path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("WAL %d KiB after the reader ended, %d KiB after as many writes again; %d RESTART checkpoints, %d kept from finishing",
		settled.Size()>>10, after.Size()>>10, s.ckpt.restarts.Load(), s.ckpt.blocked.Load())
	if after.Size() > settled.Size() {
		t.Errorf("the WAL grew from %d to %d bytes after the reader ended: it did not start over", settled.Size(), after.Size())
	}
}
