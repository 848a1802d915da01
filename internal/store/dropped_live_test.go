package store_test

import (
	"context"
	"testing"

	"github.com/ade-dev/ade-worker/gen/db"
	"github.com/ade-dev/ade-worker/internal/store"
	"github.com/ade-dev/ade-worker/internal/store/storetest"
)

// The connection of a write transaction is killed in the middle of it (a
// failover, a network drop): the statement fails with a connection error,
// not a numbered one, the server rolled the transaction back, and Write runs
// it again, whole, on a new connection.
func TestWriteRunsATransactionAgainAfterItsConnectionDropped(t *testing.T) {
	seed := storetest.MSSQL(t)
	ctx := context.Background()
	// One connection: the session killed is the transaction's.
	s := storetest.Reopen(t, seed, store.Options{PoolSize: 1})
	admin := storetest.Reopen(t, seed, store.Options{PoolSize: 1})
	var spid int
	if err := s.DB().QueryRowContext(ctx, dialectSQL(t, s, "session_id")).Scan(&spid); err != nil {
		t.Fatal(err)
	}
	tries := 0
	err := s.Write(ctx, func(q *db.Queries) error {
		tries++
		if tries == 1 {
			if _, err := admin.DB().ExecContext(ctx, dialectSQL(t, admin, "kill_session"), spid); err != nil {
				t.Fatalf("kill session %d: %v", spid, err)
			}
		}
		return q.InsertRun(ctx, db.InsertRunParams{ID: "run-1", WorkspaceID: keyA.ws, ConfigurationID: keyA.cfg,
			InputDocumentID: "doc", EngineSpec: keyA.spec, DepsDigest: keyA.digest, MaxAttempts: 3, Now: at(0)})
	})
	if err != nil || tries != 2 {
		t.Fatalf("Write = %v after %d tries; want success on the second", err, tries)
	}
	if r := getRun(t, seed, "run-1"); r.Status != "queued" {
		t.Fatalf("run = %+v", r)
	}
}
