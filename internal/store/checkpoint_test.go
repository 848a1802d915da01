package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ade-dev/ade-worker/gen/db"
)

// TestBackgroundCheckpointsKeepTheWALShort: with two goroutines committing
// as fast as they can, the background checkpoints copy the log into the
// database and, once it is long, finish under the write lock so that it
// starts over. The log file never grows much past that length, while far
// more than that is written (without the checkpointer it would grow to
// everything written, up to the backstop of 8,000 pages).
func TestBackgroundCheckpointsKeepTheWALShort(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	path := filepath.Join(t.TempDir(), "ade.sqlite")
	s, err := Open(ctx, "sqlite:///"+path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.MigrateUp(ctx); err != nil {
		t.Fatal(err)
	}
	if s.ckpt == nil {
		t.Fatal("a SQLite file in WAL mode has no background checkpointer")
	}
	const restartPages = 200
	s.ckpt.everyCommits, s.ckpt.restartPages = 8, restartPages
	// Each document row carries 4 KB, so each commit writes several pages.
	uri := "file:" + strings.Repeat("x", 4000)
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for g := range 2 {
		wg.Go(func() {
			for i := range 750 {
				err := s.Write(ctx, func(q *db.Queries) error {
					return q.InsertDocument(ctx, db.InsertDocumentParams{
						ID: fmt.Sprintf("doc-%d-%d", g, i), WorkspaceID: "ws", OriginalFilename: "in.csv", StoredUri: uri})
				})
				if err != nil {
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
