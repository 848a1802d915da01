// Package app is the worker: the loop that claims environments and runs from
// the database, the jobs that build environments and run the engine, the
// heartbeats that keep their leases, the sweeps that recover from crashed
// workers, garbage collection, and graceful shutdown.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ade-dev/ade-worker/gen/db"
	"github.com/ade-dev/ade-worker/internal/config"
	"github.com/ade-dev/ade-worker/internal/dbtime"
	"github.com/ade-dev/ade-worker/internal/engine"
	"github.com/ade-dev/ade-worker/internal/paths"
	"github.com/ade-dev/ade-worker/internal/store"
)

// errShutdown is the cause of a job context cancelled because the worker is
// stopping: the job releases its claim instead of failing it.
var errShutdown = errors.New("worker is shutting down")

// errLeaseLost is the cause of a job context cancelled because a heartbeat
// found the claim gone: the job writes nothing more.
var errLeaseLost = errors.New("claim lost")

// Worker processes the queue of one database.
type Worker struct {
	cfg     config.Config
	st      *store.Store
	layout  paths.Layout
	log     *slog.Logger
	metrics *Metrics
	// baseEnv is the environment subprocesses start from; each takes only
	// its allowlist from it (engine.EngineEnv, engine.BuildEnv).
	baseEnv []string
	// engineEnv is engine.EngineEnv(baseEnv, passthrough), the environment
	// of every engine run before its venv's variables, made once instead of
	// once per run.
	engineEnv []string
	// now is the loop's clock; clock, when set (Options.Clock), is also
	// the "now" of every query (see dbNow).
	now   func() time.Time
	clock func() time.Time

	jobsCtx    context.Context
	cancelJobs context.CancelCauseFunc
	inflight   sync.WaitGroup
	// busy counts the jobs holding a slot; acking those that gave theirs
	// back when their engine ended and are still writing the outcome.
	busy     atomic.Int64
	acking   atomic.Int64
	finished chan struct{}
	wake     chan struct{}
	// commits wakes the loop when another connection commits (nil where
	// the database cannot tell; the loop then polls by claiming).
	commits *store.CommitWatch
	// wakeByPolling reads the commit counter on a timer even where a
	// folder watch would tell (tests of the timer).
	wakeByPolling bool
	hardStop      chan struct{}
	hardOnce      sync.Once
	// ackBase is the context every ack, release and the batches of acks
	// derive from; abandonAcks ends it when shutdown stops waiting for
	// them, so that none outlives the worker's Run.
	ackBase     context.Context
	abandonAcks context.CancelCauseFunc
	// unrecorded are the jobs whose outcome could not be written since the
	// shutdown began ("run:<id>"): their claims stay until their leases
	// expire, which Run's error says.
	unrecordedMu sync.Mutex
	unrecorded   []string
	stopping     bool // set when the shutdown begins; guarded by unrecordedMu
	// jobs stops a job whose row this worker claimed again.
	jobs jobTracker
	// acks group-commits run acks (see ackRun).
	acks ackBatcher
	// files is the run job's file work (a test swaps in faults).
	files runFiles
	// faultStreak counts the infrastructure faults since a run last got
	// its input staged; it sets how long a faulted run waits (deferRun).
	faultStreak atomic.Int64
	// runJob and envJob are the jobs of claimed runs and environments:
	// processRun and buildEnvironment (a benchmark of the database path
	// replaces them).
	runJob func(context.Context, claimedRun, func())
	envJob func(context.Context, db.ClaimEnvironmentRow)

	lastLoop atomic.Int64 // unix nanos of the last loop iteration (healthz)
	gcMu     sync.Mutex
}

// Options are what New needs beside the settings.
type Options struct {
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Metrics defaults to a fresh NewMetrics().
	Metrics *Metrics
	// Environ is the environment subprocesses start from; default os.Environ().
	Environ []string
	// Clock, when set, is "now" for every query the worker sends and for
	// the loop's own timing. Nil (production) leaves "now" to the
	// database's clock, so that workers on several hosts never disagree
	// about it; tests set it to move time forward without waiting out
	// leases and backoffs.
	Clock func() time.Time
}

// New makes a worker over an open store. It creates the data folders.
func New(cfg config.Config, st *store.Store, o Options) (*Worker, error) {
	layout, err := paths.New(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("data folder: %w", err)
	}
	for _, dir := range []string{layout.DataDir, filepath.Join(layout.DataDir, "workspaces"), filepath.Join(layout.DataDir, "venvs"), layout.PipCacheDir()} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("create data folder: %w", err)
		}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics()
	}
	if o.Environ == nil {
		o.Environ = os.Environ()
	}
	w := &Worker{
		cfg:       cfg,
		st:        st,
		layout:    layout,
		log:       o.Logger.With(slog.String("worker_id", cfg.WorkerID)),
		metrics:   o.Metrics,
		baseEnv:   o.Environ,
		engineEnv: engine.EngineEnv(o.Environ, cfg.EngineEnvPassthrough),
		now:       time.Now,
		clock:     o.Clock,
		finished:  make(chan struct{}, 1),
		wake:      make(chan struct{}, 1),
		hardStop:  make(chan struct{}),
	}
	if o.Clock != nil {
		w.now = o.Clock
	}
	w.runJob, w.envJob = w.processRun, w.buildEnvironment
	w.files = osFiles{}
	w.jobsCtx, w.cancelJobs = context.WithCancelCause(context.Background())
	w.ackBase, w.abandonAcks = context.WithCancelCause(context.Background())
	w.metrics.Slots.Set(float64(cfg.Concurrency))
	w.metrics.countStatements(st)
	return w, nil
}

// dbNow is the "now" of the worker's queries: NULL, so that the
// database's clock decides, unless Options.Clock is set.
func (w *Worker) dbNow() any {
	if w.clock == nil {
		return nil
	}
	return dbtime.From(w.clock())
}

// Metrics returns the worker's series.
func (w *Worker) Metrics() *Metrics { return w.metrics }

// StopNow stops at once (a second signal): in-flight jobs are stopped, the
// claims that can be released within stopNowWait are, and Run returns
// then, leaving the rest to their leases. Safe to call more than once.
func (w *Worker) StopNow() { w.hardOnce.Do(func() { close(w.hardStop) }) }

// LastLoop is when the loop last went round (for /healthz).
func (w *Worker) LastLoop() time.Time { return time.Unix(0, w.lastLoop.Load()) }

// RunOptions shape one Run.
type RunOptions struct {
	// Drain returns once nothing is in flight and nothing queued could still
	// be processed (retry backoffs are waited out).
	Drain bool
}

// Run processes the queue until ctx is done (or, with Drain, the queue is
// empty). When ctx is done it stops claiming, lets in-flight jobs finish
// within ADE_WORKER_SHUTDOWN_GRACE_SECONDS (or until StopNow), then stops
// their subprocesses and releases their claims, so another worker continues
// at once instead of waiting out the lease. It returns nil on a clean stop,
// and an *UnfinishedError when it stopped waiting for jobs that had not
// ended (a database that does not answer): their leases will expire.
func (w *Worker) Run(ctx context.Context, o RunOptions) error {
	w.log.Info("worker started", slog.Int("concurrency", w.cfg.Concurrency), slog.String("database", w.st.Redacted()),
		slog.String("dialect", string(w.st.Dialect())), slog.String("data_dir", w.layout.DataDir))
	var watchers sync.WaitGroup
	watchCtx, stopWatch := context.WithCancel(ctx)
	watchers.Add(1)
	w.commits = w.st.WatchCommits(watchCtx, store.CommitWatchOptions{
		Wanted: func() bool { return w.freeSlots() > 0 }, Notify: w.poke, Poll: w.wakeByPolling, Log: w.log,
	}, watchers.Done)
	if w.cfg.EnableGC {
		watchers.Add(1)
		go func() { defer watchers.Done(); w.gcLoop(watchCtx) }()
	}
	// The shutdown's clock starts with ctx, not when the loop returns: the
	// loop may be waiting for the write lock behind an ack that waits for a
	// database that does not answer.
	var err error
	loopDone := make(chan struct{})
	go func() { defer close(loopDone); err = w.loop(ctx, o) }()
	select {
	case <-loopDone:
	case <-ctx.Done():
	}
	stopWatch()
	if left, finished := w.shutdown(loopDone); !finished {
		// Whatever still runs is abandoned with the process; the loop and
		// the watchers are not waited for either.
		return &UnfinishedError{Jobs: left, Lease: w.cfg.Lease}
	}
	watchers.Wait()
	w.log.Info("worker stopped")
	return err
}

// Bounds of a shutdown after the grace period. Stopping an engine takes up
// to its kill grace (3 s), and its output another 3 s at worst, before its
// job can release the claim.
const (
	// shutdownAckWait is how long jobs, once stopped, may take to end and
	// release their claims.
	shutdownAckWait = 10 * time.Second
	// stopNowWait is the same after StopNow (a second signal): enough for
	// an engine that obeys SIGTERM and one round trip per release.
	stopNowWait = 2 * time.Second
)

// shutdown waits for the loop and in-flight jobs for the grace period, then
// cancels the jobs with errShutdown (they release their claims) and waits
// for them to end,
// at most shutdownAckWait (stopNowWait after StopNow). Jobs that have not
// ended by then have their acks abandoned; it returns them ("run:<id>",
// "environment:<id>"), and whether the loop and every job ended.
func (w *Worker) shutdown(loopDone <-chan struct{}) (left []string, finished bool) {
	w.unrecordedMu.Lock()
	w.stopping = true
	w.unrecordedMu.Unlock()
	done := make(chan struct{})
	// The loop starts jobs; their count is waited for once it has returned.
	go func() { <-loopDone; w.inflight.Wait(); close(done) }()
	if n := w.jobCount(); n > 0 {
		w.log.Info("stopping: waiting for in-flight jobs", slog.Int64("jobs", n), slog.Duration("grace", w.cfg.ShutdownGrace))
	}
	grace := time.NewTimer(w.cfg.ShutdownGrace)
	defer grace.Stop()
	wait, hard := shutdownAckWait, w.hardStop
	select {
	case <-done:
		return w.leftBehind(nil, true)
	case <-grace.C:
		w.log.Warn("grace period over: stopping in-flight jobs and releasing their claims", slog.Int64("jobs", w.jobCount()))
	case <-w.hardStop:
		w.log.Warn("stopping now: stopping in-flight jobs and releasing what can be released at once", slog.Int64("jobs", w.jobCount()))
		wait, hard = stopNowWait, nil
	}
	w.cancelJobs(errShutdown)
	bound := time.NewTimer(wait)
	defer bound.Stop()
	select {
	case <-done:
		return w.leftBehind(nil, true)
	case <-bound.C:
	case <-hard:
		// A second signal during the last wait: stop waiting now.
	}
	w.abandonAcks(errAbandoned)
	return w.leftBehind(w.jobs.keys(), false)
}

// leftBehind is what a shutdown leaves: the jobs still running (when it
// stopped waiting for them) and those whose outcome could not be written.
// ok is true when there is none and the loop returned.
func (w *Worker) leftBehind(running []string, loopDone bool) (left []string, ok bool) {
	w.unrecordedMu.Lock()
	left = append(running, w.unrecorded...)
	w.unrecordedMu.Unlock()
	slices.Sort(left)
	left = slices.Compact(left)
	if loopDone && len(left) == 0 {
		return nil, true
	}
	w.log.Error("stopped with jobs unfinished: their claims were not released and their leases will expire",
		slog.Any("jobs", left), slog.Duration("lease", w.cfg.Lease))
	return left, false
}

// noteUnrecorded notes a job whose outcome could not be written during the
// shutdown (before it, the log says so and the worker goes on).
func (w *Worker) noteUnrecorded(key string) {
	w.unrecordedMu.Lock()
	if w.stopping {
		w.unrecorded = append(w.unrecorded, key)
	}
	w.unrecordedMu.Unlock()
}

// errAbandoned ends the acks a shutdown stopped waiting for.
var errAbandoned = errors.New("worker stopped before the write landed")

// UnfinishedError is Run's error when it stopped with jobs that had not
// ended: their claims stay until their leases expire, and then any worker's
// sweep takes them over.
type UnfinishedError struct {
	Jobs  []string // "run:<id>", "environment:<id>"
	Lease time.Duration
}

func (e *UnfinishedError) Error() string {
	if len(e.Jobs) == 0 {
		return "stopped while a database call was still waiting for an answer"
	}
	return fmt.Sprintf("stopped with %d job(s) unfinished (%s): their claims were not released; their leases (%s) will expire and another worker will take them over",
		len(e.Jobs), strings.Join(e.Jobs, ", "), e.Lease)
}

// ackContext is the context of a job's outcome write (ack, release): it
// ends one lease after the write starts, so transient errors are retried
// within the lease and never for ever, and when a shutdown abandons the
// acks.
func (w *Worker) ackContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(w.ackBase, w.cfg.Lease)
}

// jobCount is the number of jobs in flight, slot or not.
func (w *Worker) jobCount() int64 { return w.busy.Load() + w.acking.Load() }

// freeSlots is how many more jobs may start: ADE_WORKER_CONCURRENCY less
// the jobs holding a slot. A run's job gives its slot back when its engine
// has ended, so the next run can start while the outcome is written; but
// while more jobs than ADE_WORKER_CONCURRENCY are still writing outcomes
// (the database is slow to take them), no slot is free.
func (w *Worker) freeSlots() int {
	c := int64(w.cfg.Concurrency)
	if w.acking.Load() > c {
		return 0
	}
	return int(max(c-w.busy.Load(), 0))
}

// startJob runs fn in a slot with a context that outlives the loop's (a
// stopping loop does not stop jobs; shutdown does). log names the job. fn
// may give its slot back early by calling freeSlot (once or more); it
// holds the slot until it returns otherwise.
func (w *Worker) startJob(log *slog.Logger, fn func(ctx context.Context, freeSlot func())) {
	w.inflight.Add(1)
	w.metrics.SlotsInUse.Set(float64(w.busy.Add(1)))
	var freed atomic.Bool
	freeSlot := func() {
		if freed.CompareAndSwap(false, true) {
			w.acking.Add(1)
			w.metrics.SlotsInUse.Set(float64(w.busy.Add(-1)))
			w.signalFinished()
		}
	}
	go func() {
		defer func() {
			if p := recover(); p != nil {
				log.Error("job panicked; the worker keeps running", slog.Any("panic", p))
			}
			if freed.Load() {
				w.acking.Add(-1)
			} else {
				w.metrics.SlotsInUse.Set(float64(w.busy.Add(-1)))
			}
			w.inflight.Done()
			w.signalFinished()
		}()
		fn(w.jobsCtx, freeSlot)
	}()
}

// signalFinished wakes the loop: a slot may be free.
func (w *Worker) signalFinished() {
	select {
	case w.finished <- struct{}{}:
	default:
	}
}
