package store_test

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ade-dev/ade-worker/gen/db"
	"github.com/ade-dev/ade-worker/internal/store"
	"github.com/ade-dev/ade-worker/internal/store/storetest"
)

// testdata holds the test-only SQL: testdata/<name>.sql for SQLite and
// testdata/mssql/<name>.sql for SQL Server.
//
//go:embed testdata
var testdata embed.FS

// dialectSQL is the test-only statement name in the dialect of s.
func dialectSQL(t *testing.T, s *store.Store, name string) string {
	t.Helper()
	path := "testdata/" + name + ".sql"
	if s.Dialect() == store.MSSQL {
		path = "testdata/mssql/" + name + ".sql"
	}
	b, err := testdata.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Sixteen claimers, each with a connection of its own (as separate worker
// processes would have), drain 2,000 runs: every run is claimed exactly
// once, and no lock error (SQLITE_BUSY, or a SQL Server deadlock that the
// retries did not absorb) escapes.
func TestConcurrentClaimsClaimEachRunOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		claimEachRunOnce(t, s, 2000, 16)
	})
}

// The same on a database with READ_COMMITTED_SNAPSHOT ON, Azure SQL's
// default: READCOMMITTEDLOCK must keep READPAST skipping locked rows there
// instead of reading their last committed version.
func TestMSSQLClaimsUnderReadCommittedSnapshot(t *testing.T) {
	s := storetest.MSSQLFresh(t, true)
	ctx := context.Background()
	var on bool
	if err := s.DB().QueryRowContext(ctx, dialectSQL(t, s, "read_committed_snapshot")).Scan(&on); err != nil {
		t.Fatal(err)
	}
	if !on {
		t.Fatal("the scratch database does not have READ_COMMITTED_SNAPSHOT on")
	}
	if _, err := s.MigrateUp(ctx); err != nil {
		t.Fatal(err)
	}
	claimEachRunOnce(t, s, 2000, 16)
}

func claimEachRunOnce(t *testing.T, seed *store.Store, runs, claimers int) {
	t.Helper()
	ctx := context.Background()
	err := seed.Write(ctx, func(q *db.Queries) error {
		for i := range runs {
			if err := q.InsertRun(ctx, db.InsertRunParams{
				ID: fmt.Sprintf("run-%04d", i), WorkspaceID: keyA.ws, ConfigurationID: keyA.cfg,
				InputDocumentID: "doc", EngineSpec: keyA.spec, DepsDigest: keyA.digest, MaxAttempts: 3,
				Now: at(time.Duration(i) * time.Millisecond),
			}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	readyEnvs(t, seed, 0)

	var (
		mu      sync.Mutex
		claimed = map[string]string{}
		errs    []error
		wg      sync.WaitGroup
		start   = make(chan struct{})
	)
	for c := range claimers {
		// One connection per claimer on SQL Server; SQLite ignores the
		// pool size and arbitrates between the pools itself.
		s := storetest.Reopen(t, seed, store.Options{PoolSize: 1})
		name := fmt.Sprintf("claimer-%d", c)
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for {
				var row db.ClaimRunRow
				err := s.Write(ctx, func(q *db.Queries) error {
					var err error
					row, err = q.ClaimRun(ctx, db.ClaimRunParams{WorkerID: ns(name), Now: at(time.Hour), LeaseSeconds: 60})
					return err
				})
				if errors.Is(err, sql.ErrNoRows) {
					return
				}
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
					mu.Unlock()
					return
				}
				if prev, dup := claimed[row.ID]; dup {
					errs = append(errs, fmt.Errorf("%s claimed by %s and %s", row.ID, prev, name))
				}
				if row.AttemptCount != 1 {
					errs = append(errs, fmt.Errorf("%s claimed with attempt_count %d: claimed before", row.ID, row.AttemptCount))
				}
				claimed[row.ID] = name
				mu.Unlock()
			}
		}()
	}
	close(start)
	wg.Wait()
	for _, err := range errs {
		if strings.Contains(err.Error(), "SQLITE_BUSY") || strings.Contains(err.Error(), "database is locked") {
			t.Errorf("SQLITE_BUSY escaped: %v", err)
		} else {
			t.Error(err)
		}
	}
	if len(claimed) != runs {
		t.Fatalf("claimed %d distinct runs, want %d", len(claimed), runs)
	}
	per := map[string]int{}
	for _, w := range claimed {
		per[w]++
	}
	t.Logf("claims per claimer: %v", per)
	p, err := seed.Queries().PendingWork(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if p.HasQueuedRun != 0 || p.HasRunningRun != 1 {
		t.Fatalf("after draining: %+v", p)
	}
	counts, err := seed.Queries().CountRunsByStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(counts) != 1 || counts[0].Status != "running" || counts[0].Count != int64(runs) {
		t.Fatalf("runs by status after draining = %+v; want all %d running", counts, runs)
	}
}
