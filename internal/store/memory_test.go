package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/ade-dev/ade-worker/internal/store"
)

// sqlite:///:memory: lives in one connection: migrating it must not wait
// for a second one, and the schema it gets is the real one.
func TestInMemoryDatabaseMigratesAndServesQueries(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := store.Open(ctx, "sqlite:///:memory:", store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !s.InMemory() {
		t.Fatal("InMemory() = false for sqlite:///:memory:")
	}
	applied, err := s.MigrateUp(ctx)
	if err != nil || len(applied) == 0 {
		t.Fatalf("MigrateUp = %v, %v", applied, err)
	}
	if err := s.CheckSchema(ctx); err != nil {
		t.Fatalf("CheckSchema: %v", err)
	}
	enqueue(t, s, "run-1", keyA, 3, 0)
	p, err := s.Queries().PendingWork(ctx)
	if err != nil || p.HasQueuedRun != 1 {
		t.Fatalf("pending = %+v, %v", p, err)
	}
}
