package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/ade-dev/ade-worker/gen/db"
)

// ClaimRequest is what one claim transaction asks for.
type ClaimRequest struct {
	WorkerID     string
	LeaseSeconds float64
	// Now is the claim's "now": nil for the database's clock.
	Now any
	// Runs is how many runs to claim when no environment is queued; More,
	// when set, may raise it once the write lock is held (slots that freed
	// while the claim waited for it).
	Runs int
	More func() int
	// ReleaseUnready gives back, unspent, a claimed run whose environment
	// stopped being ready between statements (possible on SQL Server) and
	// claims no more; without it such a run is ErrClaimAgain.
	ReleaseUnready bool
}

// ErrClaimAgain is a claim of several runs that met a run whose environment
// stopped being ready: the caller rolls back and claims again with
// ReleaseUnready, one run at a time.
var ErrClaimAgain = errors.New("a claimed run's environment is not ready")

// Claim is what one claim transaction found: an environment to build, or
// runs with what their jobs need, or nothing.
type Claim struct {
	Env  *db.ClaimEnvironmentRow
	Runs []ClaimedRun
	// At is when the claim statements were sent (local clock), just before
	// the database stamped the leases: a job's lease deadline counts from
	// it.
	At time.Time
}

// ClaimedRun is a claimed run with its ready environment and its document
// (nil when the document row does not exist).
type ClaimedRun struct {
	db.ClaimRunRow
	Env db.UseEnvironmentRow
	Doc *db.GetDocumentRow
}

// ClaimWork claims, on q (a write transaction), an environment to build if
// one is queued, else up to r.Runs runs, each with its environment and its
// document. It is the one place that keeps the lock order every
// transaction follows, so that no two claims (or a claim and an ack)
// deadlock: runs first (ClaimEnvironment, whose empty seek locks nothing,
// then every ClaimRun), then environments (UseEnvironment once per key, in
// key order), then documents (GetDocument).
func ClaimWork(ctx context.Context, q *db.Queries, r ClaimRequest) (Claim, error) {
	c := Claim{At: time.Now()}
	env, err := q.ClaimEnvironment(ctx, db.ClaimEnvironmentParams{WorkerID: valid(r.WorkerID), Now: r.Now, LeaseSeconds: r.LeaseSeconds})
	if err == nil {
		c.Env = &env
		return c, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return c, err
	}
	n := r.Runs
	if r.More != nil {
		n = max(n, r.More())
	}
	for len(c.Runs) < n {
		run, err := q.ClaimRun(ctx, db.ClaimRunParams{WorkerID: valid(r.WorkerID), Now: r.Now, LeaseSeconds: r.LeaseSeconds})
		if errors.Is(err, sql.ErrNoRows) {
			break
		}
		if err != nil {
			return c, err
		}
		c.Runs = append(c.Runs, ClaimedRun{ClaimRunRow: run})
	}
	if err := useEnvironments(ctx, q, r, &c); err != nil {
		return c, err
	}
	for i := range c.Runs {
		doc, err := q.GetDocument(ctx, db.GetDocumentParams{ID: c.Runs[i].InputDocumentID, WorkspaceID: c.Runs[i].WorkspaceID})
		switch {
		case err == nil:
			c.Runs[i].Doc = &doc
		case !errors.Is(err, sql.ErrNoRows):
			return c, err
		}
	}
	return c, nil
}

// envKey is an environment key: runs of one key share its environment.
type envKey struct{ workspace, configuration, engine, deps string }

func keyOf(r ClaimedRun) envKey {
	return envKey{r.WorkspaceID, r.ConfigurationID, r.EngineSpec, r.DepsDigest}
}

// useEnvironments marks the environment of every key among c's runs used,
// once per key, in key order: two claims whose runs came in opposite orders
// would otherwise lock E1 then E2 and E2 then E1, and deadlock. A key whose
// environment is not ready (any more) is ErrClaimAgain, or with
// r.ReleaseUnready its runs are given back and dropped from c.
func useEnvironments(ctx context.Context, q *db.Queries, r ClaimRequest, c *Claim) error {
	var keys []envKey
	for _, run := range c.Runs {
		if k := keyOf(run); !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b envKey) int {
		return cmp.Or(strings.Compare(a.workspace, b.workspace), strings.Compare(a.configuration, b.configuration),
			strings.Compare(a.engine, b.engine), strings.Compare(a.deps, b.deps))
	})
	envs := make(map[envKey]db.UseEnvironmentRow, len(keys))
	for _, k := range keys {
		env, err := q.UseEnvironment(ctx, db.UseEnvironmentParams{Now: r.Now, WorkspaceID: k.workspace,
			ConfigurationID: k.configuration, EngineSpec: k.engine, DepsDigest: k.deps})
		switch {
		case errors.Is(err, sql.ErrNoRows) && r.ReleaseUnready:
			continue
		case errors.Is(err, sql.ErrNoRows):
			return ErrClaimAgain
		case err != nil:
			return err
		}
		envs[k] = env
	}
	// Runs whose environment is not ready go back (the environments
	// are all used by now: the release keeps the lock order too).
	kept := c.Runs[:0]
	for _, run := range c.Runs {
		env, ok := envs[keyOf(run)]
		if !ok {
			if _, err := q.ReleaseRun(ctx, db.ReleaseRunParams{Now: r.Now, ID: run.ID, WorkerID: valid(r.WorkerID), AttemptCount: run.AttemptCount}); err != nil {
				return err
			}
			continue
		}
		run.Env = env
		kept = append(kept, run)
	}
	c.Runs = kept
	return nil
}

func valid(s string) sql.NullString { return sql.NullString{String: s, Valid: true} }
