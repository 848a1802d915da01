package app

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/ade-dev/ade-worker/gen/db"
	"github.com/ade-dev/ade-worker/internal/store"
)

// ensureInterval is how often environment rows are ensured for queued runs.
const ensureInterval = 2 * time.Second

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

// claimed is one piece of work a claim found: an environment to build or
// a run to process.
type claimed struct {
	env *db.ClaimEnvironmentRow
	run *claimedRun
}

// claimedRun is a run with what its job needs, read in the claim's
// transaction (its ready environment, its document), and when the claim
// statement was sent (local clock), just before the database stamped the
// lease: the job's lease deadline counts from it.
type claimedRun struct {
	store.ClaimedRun
	claimedAt time.Time
}

// claimRuns claims, in one write transaction, an environment to build if
// one is queued, else up to limit runs (more if more slots freed while the
// claim waited for the write lock, up to maxClaimBatch), each with its
// environment and document; store.ClaimWork keeps the lock order. A run
// whose environment is no longer ready (possible between statements on
// SQL Server) rolls the transaction back, and one run is claimed instead,
// giving such a run back.
func (w *Worker) claimRuns(ctx context.Context, limit int) ([]claimed, error) {
	// Slots that freed while this claim waited for the write lock (the jobs
	// of an ack batch end together) are filled too: only the loop takes
	// slots, so none of them is taken meanwhile.
	more := func() int { return min(w.freeSlots(), maxClaimBatch) }
	c, err := w.claimWork(ctx, store.ClaimRequest{Runs: limit, More: more})
	if errors.Is(err, store.ErrClaimAgain) {
		c, err = w.claimWork(ctx, store.ClaimRequest{Runs: 1, ReleaseUnready: true})
	}
	if err != nil {
		return nil, err
	}
	w.metrics.RunsClaimed.Add(float64(len(c.Runs)))
	return claimedOf(c), nil
}

// claimedOf is the work a claim found, one piece per job.
func claimedOf(c store.Claim) []claimed {
	if c.Env != nil {
		return []claimed{{env: c.Env}}
	}
	cs := make([]claimed, len(c.Runs))
	for i := range c.Runs {
		cs[i] = claimed{run: &claimedRun{ClaimedRun: c.Runs[i], claimedAt: c.At}}
	}
	return cs
}

// claimWork runs one claim transaction as this worker.
func (w *Worker) claimWork(ctx context.Context, r store.ClaimRequest) (store.Claim, error) {
	start := time.Now()
	defer func() { w.metrics.ClaimLatency.Observe(time.Since(start).Seconds()) }()
	r.WorkerID, r.LeaseSeconds, r.Now = w.cfg.WorkerID, w.cfg.Lease.Seconds(), w.dbNow()
	var c store.Claim
	err := w.st.Write(ctx, func(q *db.Queries) error {
		var err error
		c, err = store.ClaimWork(ctx, q, r)
		return err
	})
	return c, err
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
		ensured, err = q.EnsureEnvironments(ctx, w.dbNow())
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
		retried, err = q.RetryFailedEnvironments(ctx, w.dbNow())
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
