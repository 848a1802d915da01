//go:build unix

package store_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/ade-dev/ade-worker/gen/db"
	"github.com/ade-dev/ade-worker/internal/store"
	"github.com/ade-dev/ade-worker/internal/store/storetest"
)

// TestStoreKeepsItsSQLiteLocks runs every store operation that touches the
// database file and checks, from another process, after each one, that this
// process still holds the shared lock its open connections took. Opening
// and closing a descriptor of the file outside SQLite (to create it, read
// its header, or open a second pool) drops every lock the process holds on
// it; the next client to close its last connection then finds itself alone
// and deletes the WAL under the worker.
func TestStoreKeepsItsSQLiteLocks(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s := storetest.SQLite(t)
	path := s.Target().SQLitePath
	self := os.Getpid()
	holds := func(after string) {
		t.Helper()
		if pid := storetest.SQLiteLockHolder(t, path); pid != self {
			t.Fatalf("after %s the shared lock is held by pid %d, want this process (%d): the store lost its locks", after, pid, self)
		}
	}
	steps := []struct {
		name string
		do   func() error
	}{
		{"a read", func() error { _, err := s.Queries().CountRunsByStatus(ctx); return err }},
		{"a write", func() error { return s.Write(ctx, func(q *db.Queries) error { return nil }) }},
		{"the readiness probe", func() error { return s.Probe(ctx) }},
		{"a schema check", func() error { return s.CheckSchema(ctx) }},
		{"migrate up (nothing pending)", func() error { _, err := s.MigrateUp(ctx); return err }},
		{"opening, using and closing a second store on the file", func() error {
			other, err := store.OpenTarget(ctx, s.Target(), store.Options{})
			if err != nil {
				return err
			}
			if err := other.Probe(ctx); err != nil {
				return err
			}
			return other.Close()
		}},
		{"opening a second store with Create", func() error {
			other, err := store.OpenTarget(ctx, s.Target(), store.Options{Create: true})
			if err != nil {
				return err
			}
			return other.Close()
		}},
	}
	for _, step := range steps {
		if err := step.do(); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		holds(step.name)
	}

	// The probe sees the loss it is there to see: a plain open and close
	// of the file drops the lock.
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	_ = f.Close()
	if pid := storetest.SQLiteLockHolder(t, path); pid != 0 {
		t.Fatalf("after os.Open and Close of the file the probe still sees pid %d holding the lock", pid)
	}
}
