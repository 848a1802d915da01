package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ade-dev/ade-worker/gen/db"
	"github.com/ade-dev/ade-worker/internal/store"
	"github.com/ade-dev/ade-worker/internal/store/storetest"
)

// Eight claimers, each with its own connection pool (as separate processes
// would have), drain 1,000 runs: every run is claimed exactly once and no
// SQLITE_BUSY escapes.
func TestConcurrentClaimsClaimEachRunOnce(t *testing.T) {
	const runs, claimers = 1000, 8
	path := filepath.Join(t.TempDir(), "claims.sqlite")
	seed := storetest.SQLiteAt(t, path)
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
	)
	for c := range claimers {
		s := openRaw(t, path)
		name := fmt.Sprintf("claimer-%d", c)
		wg.Add(1)
		go func() {
			defer wg.Done()
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
				claimed[row.ID] = name
				mu.Unlock()
			}
		}()
	}
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
	p, _ := seed.Queries().CountPendingWork(ctx)
	if p.QueuedRuns != 0 || p.RunningRuns != runs {
		t.Fatalf("after draining: %+v", p)
	}
	_ = store.SQLite
}
