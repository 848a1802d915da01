package app

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/ade-dev/ade-worker/gen/db"
)

// ensureInterval is how often environment rows are ensured for queued runs.
const ensureInterval = 2 * time.Second

// nowParam is the "now" of every query: NULL, so the database's clock
// decides; several hosts never disagree about "now".
var nowParam any = nil

// loop claims work into free slots until ctx is done or, when draining,
// nothing is left. One failing iteration is logged and retried; it never
// ends the loop.
func (w *Worker) loop(ctx context.Context, o RunOptions) error {
	idle := w.cfg.PollInterval
	var nextEnsure, nextSweep, nextSample time.Time
	for {
		if ctx.Err() != nil {
			return nil
		}
		now := w.now()
		w.lastLoop.Store(now.UnixNano())
		w.metrics.LastLoopTimestamp.Set(float64(now.Unix()))

		if !now.Before(nextEnsure) {
			nextEnsure = now.Add(ensureInterval)
			if err := w.ensureEnvironments(ctx); err != nil {
				w.loopError(ctx, "ensure environments", err)
			}
		}
		if !now.Before(nextSweep) {
			nextSweep = now.Add(w.cfg.CleanupInterval)
			if err := w.sweep(ctx); err != nil {
				w.loopError(ctx, "sweep", err)
			}
		}
		if !now.Before(nextSample) {
			nextSample = now.Add(15 * time.Second)
			w.sampleQueue(ctx)
		}

		claimed, err := w.fillSlots(ctx)
		if err != nil {
			w.loopError(ctx, "claim", err)
		}
		if claimed > 0 {
			idle = w.cfg.PollInterval
		}

		if o.Drain && w.jobCount() == 0 && claimed == 0 && err == nil {
			done, err := w.drained(ctx)
			if err != nil {
				w.loopError(ctx, "drain check", err)
			} else if done {
				w.log.Info("drained: nothing left to process")
				return nil
			}
		}

		// Wait for a freed slot, a change in the database, or the poll timer.
		// Where the database has no cheap change signal (SQL Server), idle
		// polls never come faster than ADE_WORKER_MSSQL_POLL_INTERVAL.
		wait := jitter(idle)
		if w.commits == nil {
			wait = max(wait, w.cfg.MSSQLPollInterval)
		}
		if w.freeSlots() > 0 {
			w.commits.Arm()
		} else {
			wait = time.Until(nextSweep)
			if until := time.Until(nextEnsure); until < wait {
				wait = until
			}
		}
		timer := time.NewTimer(max(wait, time.Millisecond))
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-w.finished:
			idle = w.cfg.PollInterval
		case <-w.wake:
		case <-timer.C:
			if claimed == 0 && w.freeSlots() > 0 {
				idle = min(idle*2, w.cfg.PollIntervalMax)
			}
		}
		timer.Stop()
	}
}

// loopError logs a failed iteration and pauses briefly so a broken database
// is not hammered; the loop then tries again.
func (w *Worker) loopError(ctx context.Context, what string, err error) {
	if ctx.Err() != nil {
		return
	}
	w.metrics.LoopErrors.Inc()
	w.log.Error(what+" failed; retrying", slog.String("error", err.Error()))
	select {
	case <-ctx.Done():
	case <-time.After(jitter(w.cfg.PollIntervalMax)):
	}
}

// jitter spreads d by ±20% so many idle workers do not poll in step.
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return d
	}
	spread := int64(d) / 5
	return time.Duration(int64(d) - spread + rand.Int64N(2*spread+1))
}

// maxClaimBatch is the most runs one claim transaction takes.
const maxClaimBatch = 16

// fillSlots claims work while slots are free: environment builds first, so
// that runs waiting on them can start sooner, then runs. One transaction
// claims a run for every free slot (claimRuns).
func (w *Worker) fillSlots(ctx context.Context) (int, error) {
	total := 0
	for w.freeSlots() > 0 && ctx.Err() == nil {
		free := min(w.freeSlots(), maxClaimBatch)
		cs, err := w.claimRuns(ctx, free)
		if err != nil {
			return total, err
		}
		if len(cs) == 0 {
			return total, nil
		}
		for _, c := range cs {
			switch {
			case c.env != nil:
				env := *c.env
				w.startJob(w.log.With(slog.String("environment_id", env.ID)), func(jctx context.Context, _ func()) { w.envJob(jctx, env) })
			case c.run != nil:
				run := *c.run
				w.startJob(w.log.With(slog.String("run_id", run.ID)), func(jctx context.Context, freeSlot func()) { w.runJob(jctx, run, freeSlot) })
			}
			total++
		}
		if cs[0].env == nil && len(cs) < free {
			// Fewer runs than free slots: none is left to claim now.
			return total, nil
		}
	}
	return total, nil
}

// claimed is what one claim transaction found: an environment to build, a
// run to process, or nothing.
type claimed struct {
	env *db.ClaimEnvironmentRow
	run *claimedRun
}

// claimedRun is a run with what its job needs, read in the claim's
// transaction: its ready environment and its document.
type claimedRun struct {
	db.ClaimRunRow
	env db.UseEnvironmentRow
	doc *db.GetDocumentRow // nil when the document row does not exist
	// claimedAt is when the claim statement was sent (local clock), just
	// before the database stamped the lease: the job's lease deadline
	// counts from it.
	claimedAt time.Time
}

// claim runs one write transaction that claims an environment or, if none
// is queued, a run with its environment and document.
func (w *Worker) claim(ctx context.Context) (claimed, error) {
	start := time.Now()
	defer func() { w.metrics.ClaimLatency.Observe(time.Since(start).Seconds()) }()
	var c claimed
	lease := w.cfg.Lease.Seconds()
	err := w.st.Write(ctx, func(q *db.Queries) error {
		c = claimed{}
		// The write lock is held from here (BEGIN IMMEDIATE on SQLite): the
		// lease the claim stamps starts a moment later, not when this
		// worker began waiting for the lock, which under contention can be
		// a good part of a short lease earlier.
		sent := time.Now()
		// Claiming an environment first keeps the lock order (runs, then
		// environments, then documents): a claim that finds one ends the
		// transaction at once, and one that finds none holds no row lock,
		// since READPAST never waits and an empty seek locks nothing.
		env, err := q.ClaimEnvironment(ctx, db.ClaimEnvironmentParams{WorkerID: nsv(w.cfg.WorkerID), Now: nowParam, LeaseSeconds: lease})
		if err == nil {
			c.env = &env
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		run, err := q.ClaimRun(ctx, db.ClaimRunParams{WorkerID: nsv(w.cfg.WorkerID), Now: nowParam, LeaseSeconds: lease})
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		useEnv, err := q.UseEnvironment(ctx, db.UseEnvironmentParams{Now: nowParam, WorkspaceID: run.WorkspaceID,
			ConfigurationID: run.ConfigurationID, EngineSpec: run.EngineSpec, DepsDigest: run.DepsDigest})
		if errors.Is(err, sql.ErrNoRows) {
			// The environment stopped being ready after the claim chose the
			// run (possible between statements on SQL Server): give the run
			// back without spending its attempt.
			_, err := q.ReleaseRun(ctx, db.ReleaseRunParams{Now: nowParam, ID: run.ID, WorkerID: nsv(w.cfg.WorkerID), AttemptCount: run.AttemptCount})
			return err
		}
		if err != nil {
			return err
		}
		cr := &claimedRun{ClaimRunRow: run, env: useEnv, claimedAt: sent}
		doc, err := q.GetDocument(ctx, db.GetDocumentParams{ID: run.InputDocumentID, WorkspaceID: run.WorkspaceID})
		switch {
		case err == nil:
			cr.doc = &doc
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		c.run = cr
		return nil
	})
	if err != nil {
		return claimed{}, err
	}
	if c.run != nil {
		w.metrics.RunsClaimed.Inc()
	}
	return c, nil
}

// errClaimAgain rolls back a claim of several runs that met a run whose
// environment stopped being ready: the claim is made again one run at a
// time, which releases such a run without breaking the lock order.
var errClaimAgain = errors.New("a claimed run's environment is not ready")

// claimRuns is claim for the free slots, in one write transaction: an
// environment to build if one is queued (alone, as in claim), else up to
// limit runs (more if more slots freed meanwhile, up to maxClaimBatch),
// each with its environment and document. The statements keep the lock
// order: every ClaimRun, then UseEnvironment once per environment key (in
// key order), then every GetDocument. A run whose environment is no longer
// ready (possible between statements on SQL Server) rolls the transaction
// back, and one claim (which gives such a run back) is made instead.
func (w *Worker) claimRuns(ctx context.Context, limit int) ([]claimed, error) {
	start := time.Now()
	var cs []claimed
	lease := w.cfg.Lease.Seconds()
	err := w.st.Write(ctx, func(q *db.Queries) error {
		cs = cs[:0]
		sent := time.Now()
		env, err := q.ClaimEnvironment(ctx, db.ClaimEnvironmentParams{WorkerID: nsv(w.cfg.WorkerID), Now: nowParam, LeaseSeconds: lease})
		if err == nil {
			cs = append(cs, claimed{env: &env})
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		// Slots that freed while this claim waited for the write lock (the
		// jobs of an ack batch end together) are filled too: only the loop
		// takes slots, so none of them is taken meanwhile.
		n := max(limit, min(w.freeSlots(), maxClaimBatch))
		var runs []*claimedRun
		for len(runs) < n {
			run, err := q.ClaimRun(ctx, db.ClaimRunParams{WorkerID: nsv(w.cfg.WorkerID), Now: nowParam, LeaseSeconds: lease})
			if errors.Is(err, sql.ErrNoRows) {
				break
			}
			if err != nil {
				return err
			}
			runs = append(runs, &claimedRun{ClaimRunRow: run, claimedAt: sent})
		}
		envs, err := useEnvironments(ctx, q, runs)
		if err != nil {
			return err
		}
		for _, cr := range runs {
			cr.env = envs[keyOf(cr)]
		}
		for _, cr := range runs {
			doc, err := q.GetDocument(ctx, db.GetDocumentParams{ID: cr.InputDocumentID, WorkspaceID: cr.WorkspaceID})
			switch {
			case err == nil:
				cr.doc = &doc
			case !errors.Is(err, sql.ErrNoRows):
				return err
			}
			cs = append(cs, claimed{run: cr})
		}
		return nil
	})
	w.metrics.ClaimLatency.Observe(time.Since(start).Seconds())
	if errors.Is(err, errClaimAgain) {
		c, err := w.claim(ctx)
		if err != nil || (c.env == nil && c.run == nil) {
			return nil, err
		}
		return []claimed{c}, nil
	}
	if err != nil {
		return nil, err
	}
	for _, c := range cs {
		if c.run != nil {
			w.metrics.RunsClaimed.Inc()
		}
	}
	return cs, nil
}

// ensureEnvironments creates queued environments for the keys queued runs
// need, and gives a failed environment a fresh series of build attempts
// when a run was queued for it after it failed. The two commit apart: on
// SQL Server the key-range locks of EnsureEnvironments (UPDLOCK, HOLDLOCK)
// last until its transaction ends, and should RetryFailedEnvironments wait
// on a row, every insert into those ranges would wait with it.
func (w *Worker) ensureEnvironments(ctx context.Context) error {
	var ensured, retried int64
	err := w.st.Write(ctx, func(q *db.Queries) error {
		var err error
		ensured, err = q.EnsureEnvironments(ctx, nowParam)
		return err
	})
	if err != nil {
		return err
	}
	if ensured > 0 {
		w.log.Info("environments queued for new dependency keys", slog.Int64("count", ensured))
	}
	err = w.st.Write(ctx, func(q *db.Queries) error {
		var err error
		retried, err = q.RetryFailedEnvironments(ctx, nowParam)
		return err
	})
	if retried > 0 {
		w.log.Info("failed environments queued again for runs submitted after they failed", slog.Int64("count", retried))
	}
	return err
}

// drained reports whether nothing could still be processed.
func (w *Worker) drained(ctx context.Context) (bool, error) {
	if err := w.sweep(ctx); err != nil {
		return false, err
	}
	if err := w.ensureEnvironments(ctx); err != nil {
		return false, err
	}
	p, err := w.st.Queries().PendingWork(ctx)
	if err != nil {
		return false, err
	}
	return p.HasRunningRun == 0 && p.HasPendingEnvironment == 0 && p.HasQueuedRun == 0, nil
}

// sampleQueue records the live queue for /metrics: runs queued and
// running, environments queued and building. Finished runs and built
// environments are history, not queue, and are not counted. Every live
// status is always present, 0 when no row has it, so a dashboard shows an
// emptied queue as 0 rather than as a vanished series.
func (w *Worker) sampleQueue(ctx context.Context) {
	c, err := w.st.Queries().CountLiveQueue(ctx)
	if err != nil {
		return
	}
	w.metrics.QueueDepth.WithLabelValues("runs", "queued").Set(float64(c.RunsQueued))
	w.metrics.QueueDepth.WithLabelValues("runs", "running").Set(float64(c.RunsRunning))
	w.metrics.QueueDepth.WithLabelValues("environments", "queued").Set(float64(c.EnvironmentsQueued))
	w.metrics.QueueDepth.WithLabelValues("environments", "building").Set(float64(c.EnvironmentsBuilding))
}

func nsv(s string) sql.NullString { return sql.NullString{String: s, Valid: true} }

func nullStr(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }
