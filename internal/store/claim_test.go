package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ade-dev/ade-worker/gen/db"
	"github.com/ade-dev/ade-worker/internal/store"
	"github.com/ade-dev/ade-worker/internal/store/storetest"
)

// statementLog records the name of every generated statement sent through
// it (sqlc starts each one with its "-- name:" line), and the arguments of
// UseEnvironment.
type statementLog struct {
	db.DBTX
	names []string
	used  []string // the configuration ids UseEnvironment was sent, in order
}

func (l *statementLog) note(q string, args []any) {
	name, _, _ := strings.Cut(strings.TrimPrefix(q, "-- name: "), " ")
	l.names = append(l.names, name)
	if name == "UseEnvironment" {
		l.used = append(l.used, fmt.Sprint(args[2]))
	}
}

func (l *statementLog) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	l.note(q, args)
	return l.DBTX.ExecContext(ctx, q, args...)
}

func (l *statementLog) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	l.note(q, args)
	return l.DBTX.QueryContext(ctx, q, args...)
}

func (l *statementLog) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	l.note(q, args)
	return l.DBTX.QueryRowContext(ctx, q, args...)
}

// TestClaimWorkKeepsTheLockOrder: a claim of runs of two environments,
// which the queue hands out as B, A, B, sends every ClaimRun first, then
// UseEnvironment once per key in key order (A before B), then the
// documents: the order every transaction locks in (runs, environments,
// documents), so no two of them deadlock.
func TestClaimWorkKeepsTheLockOrder(t *testing.T) {
	s := storetest.SQLite(t)
	ctx := context.Background()
	enqueue(t, s, "run-1", keyB, 3, 0)
	enqueue(t, s, "run-2", keyA, 3, time.Millisecond)
	enqueue(t, s, "run-3", keyB, 3, 2*time.Millisecond)
	readyEnvs(t, s, 0)

	tx, err := s.DB().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	log := &statementLog{DBTX: tx}
	c, err := store.ClaimWork(ctx, db.New(log), store.ClaimRequest{WorkerID: worker, LeaseSeconds: 60, Now: at(time.Second), Runs: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Runs) != 3 || c.Env != nil {
		t.Fatalf("claimed %d runs and environment %v, want 3 runs", len(c.Runs), c.Env)
	}
	envOf := map[string]string{}
	for _, r := range c.Runs {
		if r.Doc == nil || r.Doc.ID != "doc-"+r.ID || r.Env.ID == "" {
			t.Errorf("run %s came without its document or environment: %+v", r.ID, r)
		}
		if prev, ok := envOf[r.ConfigurationID]; ok && prev != r.Env.ID {
			t.Errorf("runs of one key came with two environments, %s and %s", prev, r.Env.ID)
		}
		envOf[r.ConfigurationID] = r.Env.ID
	}
	if len(envOf) != 2 || envOf[keyA.cfg] == envOf[keyB.cfg] {
		t.Errorf("environments by configuration %v, want one each for two keys", envOf)
	}
	want := []string{"ClaimEnvironment", "ClaimRun", "ClaimRun", "ClaimRun", "UseEnvironment", "UseEnvironment", "GetDocument", "GetDocument", "GetDocument"}
	if !slices.Equal(log.names, want) {
		t.Errorf("statements %v, want %v", log.names, want)
	}
	if !slices.Equal(log.used, []string{keyA.cfg, keyB.cfg}) {
		t.Errorf("environments used in the order %v, want key order %v", log.used, []string{keyA.cfg, keyB.cfg})
	}
}
