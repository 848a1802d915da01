package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ade-dev/ade-worker/gen/db"
	"github.com/ade-dev/ade-worker/internal/store"
)

// Group commit of run acks. Acks that arrive while a transaction commits
// queue and go together in the next one: on SQLite consecutive runs' writes
// touch the same index pages, so one commit of k acks writes far fewer WAL
// pages than k commits, and the single write lock is taken once instead of
// k times. A lone ack does not wait: the committer starts as soon as an ack
// arrives and nothing is committing.
//
// Every ack in a batch stays fenced on its own claim: one whose fenced
// statement changes no row wrote nothing (each ack checks its fence before
// any other statement) and reports lost without affecting the others. An
// ack that fails with an error rolls the whole batch back, and every ack of
// the batch is then written alone through the retrying path (ackAlone), so
// one bad ack never loses the others.
//
// Only acks that lock runs (and the results of their runs) are batched:
// acks that lock an environment go alone, so that a batch never locks a run
// after an environment (the lock order is runs, then environments, then
// documents).

// Bounds of one batch, so one transaction stays short.
const (
	// maxAckBatch is the most acks one transaction writes.
	maxAckBatch = 64
	// maxAckBatchRows is the most result rows (metrics, fields, columns)
	// one batch writes beyond its first ack; an ack bigger than this goes
	// alone.
	maxAckBatchRows = 4 * store.ResultChunk
)

// The retrying path's backoff between attempts.
const (
	minAckRetry = 250 * time.Millisecond
	maxAckRetry = 10 * time.Second
)

// ackRequest is one ack waiting for the committer.
type ackRequest struct {
	// ctx is the ack's own context: its deadline bounds the batch's wait
	// for the write lock.
	ctx  context.Context
	fn   func(q *db.Queries) (int64, error)
	rows int // result rows the ack writes, to bound the batch
	done chan ackResult
}

// ackResult is what the committer did with one ack: n rows changed by its
// fenced statement (0: lost), or batchErr when its batch failed and the ack
// must be written alone.
type ackResult struct {
	n        int64
	batchErr error
	alone    bool // the failed batch held only this ack
}

// ackBatcher queues acks for one committer goroutine, started when an ack
// arrives and nothing is committing, and ended when the queue is empty.
type ackBatcher struct {
	mu      sync.Mutex
	queue   []*ackRequest
	running bool
}

// ackRun writes a run's ack fn, fenced on its claim, in a group commit with
// the other run acks that queue with it, retrying alone while the database
// answers with a transient error. It gives up when ctx ends (see
// ackContext) or at once on a permanent error (a constraint, a value too
// long), which no retry mends; the lease then expires and another worker
// runs the attempt again (at least once). It returns the rows fn's fenced
// statement changed: 0 when the claim was gone and nothing was written.
// rows is the number of result rows fn writes (it bounds the batch).
func (w *Worker) ackRun(ctx context.Context, log *slog.Logger, rows int, fn func(q *db.Queries) (int64, error)) (int64, error) {
	r := &ackRequest{ctx: ctx, fn: fn, rows: rows, done: make(chan ackResult, 1)}
	b := &w.acks
	b.mu.Lock()
	b.queue = append(b.queue, r)
	if !b.running {
		b.running = true
		go w.commitAcks()
	}
	b.mu.Unlock()
	res := <-r.done
	if res.batchErr == nil {
		return res.n, nil
	}
	if res.alone {
		// The batch was this ack alone: its failure is the first attempt
		// of the retrying path.
		return w.ackRetry(ctx, log, fn, res.batchErr)
	}
	log.Warn("a batch of job outcomes failed; writing this one alone", slog.String("error", res.batchErr.Error()))
	return w.ackAlone(ctx, log, fn)
}

// commitAcks commits batches until the queue is empty.
func (w *Worker) commitAcks() {
	b := &w.acks
	for {
		b.mu.Lock()
		if len(b.queue) == 0 {
			b.running = false
			b.mu.Unlock()
			return
		}
		n, rows := 1, b.queue[0].rows
		for n < len(b.queue) && n < maxAckBatch && rows+b.queue[n].rows <= maxAckBatchRows {
			rows += b.queue[n].rows
			n++
		}
		batch := make([]*ackRequest, n)
		copy(batch, b.queue)
		b.queue = b.queue[n:]
		if len(b.queue) == 0 {
			b.queue = nil // let the backing array go
		}
		b.mu.Unlock()
		w.commitBatch(batch)
	}
}

// commitBatch writes batch in one transaction and tells each ack what
// became of it.
func (w *Worker) commitBatch(batch []*ackRequest) {
	w.metrics.AckBatchSize.Observe(float64(len(batch)))
	ns := make([]int64, len(batch))
	// Each ack's statements use the context its closure was made with; the
	// transaction's own (its BEGIN, its wait for the write lock) ends with
	// the first ack's deadline, so no ack waits past its own.
	ctx, cancel := batchContext(w.ackBase, batch)
	defer cancel()
	err := w.st.Write(ctx, func(q *db.Queries) (err error) {
		// A panicking ack fails its batch like an error, so its job (and
		// not this goroutine, which every ack waits on) meets the panic
		// again when it writes alone.
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("writing a job's outcome panicked: %v", p)
			}
		}()
		for i, r := range batch {
			n, err := r.fn(q)
			if err != nil {
				return err
			}
			// n == 0: the fenced statement changed no row and the ack
			// wrote nothing; the others still commit.
			ns[i] = n
		}
		return nil
	})
	if err != nil {
		w.metrics.AckBatchFallbacks.Inc()
	}
	for i, r := range batch {
		if err != nil {
			r.done <- ackResult{batchErr: err, alone: len(batch) == 1}
		} else {
			r.done <- ackResult{n: ns[i]}
		}
	}
}

// batchContext is base with the earliest deadline of the batch's acks.
func batchContext(base context.Context, batch []*ackRequest) (context.Context, context.CancelFunc) {
	var first time.Time
	for _, r := range batch {
		if d, ok := r.ctx.Deadline(); ok && (first.IsZero() || d.Before(first)) {
			first = d
		}
	}
	if first.IsZero() {
		return context.WithCancel(base)
	}
	return context.WithDeadline(base, first)
}

// ackAlone writes one fenced transaction, retrying with backoff while the
// database answers with a transient error (the job's subprocess is already
// done, so waiting costs only the slot), until ctx ends; a permanent error
// is returned at once. The lease then expires and another worker runs the
// attempt again (at least once). A transaction whose fenced statement
// changed no row is rolled back. log is the job's, so a retry names the run
// or environment it is for.
func (w *Worker) ackAlone(ctx context.Context, log *slog.Logger, fn func(q *db.Queries) (int64, error)) (int64, error) {
	return w.ackRetry(ctx, log, fn, nil)
}

// ackRetry is ackAlone after a first attempt that failed with first (nil:
// no attempt yet).
func (w *Worker) ackRetry(ctx context.Context, log *slog.Logger, fn func(q *db.Queries) (int64, error), first error) (int64, error) {
	delay := minAckRetry
	err := first
	for {
		if err != nil {
			if store.IsPermanent(err) {
				// A constraint or a value the column cannot take: the
				// same write fails the same way every time.
				log.Error("writing a job's outcome failed with a permanent error; not retrying", slog.String("error", err.Error()))
				return 0, err
			}
			if ctx.Err() != nil {
				return 0, gaveUp(ctx, err)
			}
			log.Warn("writing a job's outcome failed; retrying", slog.String("error", err.Error()),
				slog.String("class", store.Classify(err).String()), slog.Duration("in", delay))
			select {
			case <-ctx.Done():
				return 0, gaveUp(ctx, err)
			case <-time.After(jitter(delay)):
			}
			delay = min(delay*2, maxAckRetry)
		}
		var n int64
		werr := w.st.Write(ctx, func(q *db.Queries) error {
			var err error
			n, err = fn(q)
			if err == nil && n == 0 {
				return errFenced
			}
			return err
		})
		switch {
		case errors.Is(werr, errFenced):
			return 0, nil
		case werr == nil:
			return n, nil
		case ctx.Err() != nil:
			// The write ended with the context: report what failed the
			// writes before it, if anything did.
			if err == nil {
				err = werr
			}
			return 0, gaveUp(ctx, err)
		}
		err = werr
	}
}

// gaveUp is err, the last failure of an ack, saying that the ack stopped
// trying because ctx ended.
func gaveUp(ctx context.Context, err error) error {
	return fmt.Errorf("%w (gave up: %v)", err, context.Cause(ctx))
}
