package app

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/ade-dev/ade-worker/gen/db"
)

// ackRig is a worker over a fresh SQLite file with n claimed runs, and the
// succeeded outcome their acks write (metrics, 10 fields, 20 columns).
type ackRig struct {
	t    *testing.T
	w    *Worker
	runs []claimedRun
	out  runOutcome
	// ctx is the context of the acks submit sends; cancel ends them.
	ctx    context.Context
	cancel context.CancelFunc
}

func newAckRig(t *testing.T, n int) *ackRig {
	t.Helper()
	w, st, e := benchWorker(t, "/bin/true", "ADE_WORKER_CONCURRENCY=8")
	ctx := context.Background()
	// Enqueue left one run; n-1 more make n.
	if err := benchEnqueue(ctx, st, e, n-1, true); err != nil {
		t.Fatal(err)
	}
	cs, err := w.claimRuns(ctx, n)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != n {
		t.Fatalf("claimed %d, want %d runs in one claim", len(cs), n)
	}
	r := &ackRig{t: t, w: w, out: benchOutcome(benchSummary(t, 10, 20))}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	t.Cleanup(r.cancel)
	for _, c := range cs {
		if c.run == nil {
			t.Fatalf("claimed %+v, want a run", c)
		}
		r.runs = append(r.runs, *c.run)
	}
	return r
}

// block submits an ack that holds the committer inside its transaction
// until the returned func is called, so that acks submitted meanwhile
// queue for the next batch. It waits until the committer holds it.
func (r *ackRig) block() (release func()) {
	r.t.Helper()
	holding, gate := make(chan struct{}), make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = r.w.ackRun(context.Background(), r.w.log, 0, func(*db.Queries) (int64, error) {
			close(holding)
			<-gate
			return 1, nil
		})
	}()
	<-holding
	return func() { close(gate); <-done }
}

// waitQueued waits until n acks wait for the committer.
func (r *ackRig) waitQueued(n int) {
	r.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		r.w.acks.mu.Lock()
		got := len(r.w.acks.queue)
		r.w.acks.mu.Unlock()
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("%d acks queued, want %d", got, n)
		}
		time.Sleep(time.Millisecond)
	}
}

type ackReturn struct {
	n   int64
	err error
}

// submit acks fns concurrently; the results arrive on the returned
// channels, in fns' order.
func (r *ackRig) submit(fns ...func(q *db.Queries) (int64, error)) []chan ackReturn {
	outs := make([]chan ackReturn, len(fns))
	for i, fn := range fns {
		outs[i] = make(chan ackReturn, 1)
		go func() {
			n, err := r.w.ackRun(r.ctx, r.w.log, resultRows(r.out.summary), fn)
			outs[i] <- ackReturn{n, err}
		}()
	}
	return outs
}

func (r *ackRig) succeeded(i int) func(q *db.Queries) (int64, error) {
	return successAck(context.Background(), r.t, r.w, r.runs[i], r.out)
}

// check fails unless run i has status and, when succeeded, its 10 fields
// and 20 columns exactly once.
func (r *ackRig) check(i int, status string) {
	r.t.Helper()
	ctx := context.Background()
	q := r.w.st.Queries()
	run, err := q.GetRun(ctx, r.runs[i].ID)
	if err != nil {
		r.t.Fatal(err)
	}
	if run.Status != status {
		r.t.Errorf("run %d status = %q, want %q", i, run.Status, status)
	}
	fields, err := q.ListRunFields(ctx, r.runs[i].ID)
	if err != nil {
		r.t.Fatal(err)
	}
	cols, err := q.ListRunTableColumns(ctx, r.runs[i].ID)
	if err != nil {
		r.t.Fatal(err)
	}
	want := 0
	if status == "succeeded" {
		want = 1
	}
	if len(fields) != 10*want || len(cols) != 20*want {
		r.t.Errorf("run %d (%s) has %d fields and %d columns, want %d and %d", i, status, len(fields), len(cols), 10*want, 20*want)
	}
}

func (r *ackRig) batches() (sum, count float64) {
	return histogramSum(r.w, "ade_worker_ack_batch_size")
}

// TestConcurrentAcksCommitTogether: acks that arrive while a batch
// commits are written by the next transaction together, and each run gets
// its outcome and results.
func TestConcurrentAcksCommitTogether(t *testing.T) {
	r := newAckRig(t, 4)
	release := r.block()
	outs := r.submit(r.succeeded(0), r.succeeded(1), r.succeeded(2), r.succeeded(3))
	r.waitQueued(4)
	before := r.w.st.Statements()
	release()
	for i, o := range outs {
		if got := <-o; got.n != 1 || got.err != nil {
			t.Errorf("ack %d = %d rows, %v; want 1 row", i, got.n, got.err)
		}
	}
	// The blocker's COMMIT, then one BEGIN and one COMMIT around the four
	// acks of 7 statements each (CompleteRun, three deletes, the metrics,
	// one chunk of 10 fields and one of 20 columns): alone they would have
	// sent six more.
	if got := r.w.st.Statements() - before; got != 1+2+4*7 {
		t.Errorf("%d statements for the four acks, want %d (one transaction)", got, 1+2+4*7)
	}
	for i := range r.runs {
		r.check(i, "succeeded")
	}
	// The blocker's batch, then one batch of the four.
	if sum, count := r.batches(); count != 2 || sum != 5 {
		t.Errorf("%v acks in %v batches, want 5 in 2 (1, then 4 together)", sum, count)
	}
}

// TestFencedAckInBatchIsLost: an ack whose claim is gone reports 0 rows
// (lost) and writes nothing, while the acks batched with it commit.
func TestFencedAckInBatchIsLost(t *testing.T) {
	r := newAckRig(t, 3)
	ctx := context.Background()
	// Run 1's claim is taken away: it goes back to the queue.
	if n, err := r.w.st.Queries().ReleaseRun(ctx, db.ReleaseRunParams{ID: r.runs[1].ID, WorkerID: nsv(r.w.cfg.WorkerID), AttemptCount: r.runs[1].AttemptCount}); n != 1 || err != nil {
		t.Fatalf("release run 1: %d, %v", n, err)
	}
	release := r.block()
	outs := r.submit(r.succeeded(0), r.succeeded(1), r.succeeded(2))
	r.waitQueued(3)
	release()
	for i, want := range []int64{1, 0, 1} {
		if got := <-outs[i]; got.n != want || got.err != nil {
			t.Errorf("ack %d = %d rows, %v; want %d", i, got.n, got.err, want)
		}
	}
	r.check(0, "succeeded")
	r.check(1, "queued")
	r.check(2, "succeeded")
	if sum, count := r.batches(); count != 2 || sum != 4 {
		t.Errorf("%v acks in %v batches, want 4 in 2", sum, count)
	}
	if got := counter(r.w.metrics.AckBatchFallbacks); got != 0 {
		t.Errorf("%v batches fell back; a lost ack must not roll its batch back", got)
	}
}

// TestFailingAckInBatchFallsBack: an ack that fails after writing rolls
// its whole batch back; the others are then written alone and commit, and
// the failing one (its error neither transient nor permanent) retries alone
// until its context ends, having written nothing.
func TestFailingAckInBatchFallsBack(t *testing.T) {
	r := newAckRig(t, 3)
	boom := errors.New("boom")
	var mu sync.Mutex
	calls := 0
	bad := func(q *db.Queries) (int64, error) {
		mu.Lock()
		calls++
		mu.Unlock()
		// It writes its run's outcome, then fails: the write must not stay.
		if n, err := r.succeeded(1)(q); n != 1 || err != nil {
			return 0, errors.Join(errors.New("the failing ack's own write did not take"), err)
		}
		return 0, boom
	}
	release := r.block()
	outs := r.submit(r.succeeded(0), bad, r.succeeded(2))
	r.waitQueued(3)
	release()
	for _, i := range []int{0, 2} {
		if got := <-outs[i]; got.n != 1 || got.err != nil {
			t.Errorf("ack %d = %d rows, %v; want 1 row", i, got.n, got.err)
		}
	}
	// Its batch, then at least one try alone.
	waitUntil(t, "the failing ack to be tried alone", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return calls >= 2
	})
	select {
	case got := <-outs[1]:
		t.Fatalf("the failing ack returned %d, %v before its context ended", got.n, got.err)
	default:
	}
	r.cancel()
	if got := <-outs[1]; !errors.Is(got.err, boom) {
		t.Errorf("the failing ack returned %d, %v; want its error once its context ended", got.n, got.err)
	}
	mu.Lock()
	defer mu.Unlock()
	if calls < 2 {
		t.Errorf("the failing ack ran %d times, want its batch and at least one try alone", calls)
	}
	r.check(0, "succeeded")
	r.check(1, "running")
	r.check(2, "succeeded")
	if got := counter(r.w.metrics.AckBatchFallbacks); got != 1 {
		t.Errorf("%v batches fell back, want 1", got)
	}
}

// TestClaimRunsTakesOneRunPerFreeSlot: one claim transaction takes as many
// runs as there are free slots, each with its environment and document,
// and an environment to build goes first and alone.
func TestClaimRunsTakesOneRunPerFreeSlot(t *testing.T) {
	w, st, e := benchWorker(t, "/bin/true")
	ctx := context.Background()
	if err := benchEnqueue(ctx, st, e, 4, true); err != nil {
		t.Fatal(err)
	}
	before := st.Statements()
	cs, err := w.claimRuns(ctx, 3)
	if err != nil || len(cs) != 3 {
		t.Fatalf("claimed %d (%v), want 3 runs", len(cs), err)
	}
	// BEGIN, ClaimEnvironment, 3 × ClaimRun, one UseEnvironment for their
	// one environment, 3 × GetDocument, COMMIT.
	if got := st.Statements() - before; got != 10 {
		t.Errorf("%d statements, want 10 (one transaction)", got)
	}
	seen := map[string]bool{}
	for _, c := range cs {
		if c.run == nil || c.run.Doc == nil || c.run.Env.ID == "" || seen[c.run.ID] {
			t.Fatalf("claimed %+v; want distinct runs with environment and document", c)
		}
		seen[c.run.ID] = true
	}
	// Two runs are left: asking for 5 gets those 2.
	if cs, err := w.claimRuns(ctx, 5); err != nil || len(cs) != 2 {
		t.Fatalf("claimed %d (%v), want the 2 runs left", len(cs), err)
	}

	// A queued environment is claimed first, alone.
	err = st.Write(ctx, func(q *db.Queries) error {
		return q.InsertRun(ctx, db.InsertRunParams{ID: "other-deps-run", WorkspaceID: "bench",
			ConfigurationID: e.ConfigurationID, InputDocumentID: e.DocumentID, EngineSpec: "bench-engine",
			DepsDigest: "other-deps", MaxAttempts: 1})
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.ensureEnvironments(ctx); err != nil {
		t.Fatal(err)
	}
	if err := benchEnqueue(ctx, st, e, 2, true); err != nil {
		t.Fatal(err)
	}
	cs, err = w.claimRuns(ctx, 4)
	if err != nil || len(cs) != 1 || cs[0].env == nil {
		t.Fatalf("claimed %+v (%v), want the queued environment alone", cs, err)
	}
	cs, err = w.claimRuns(ctx, 4)
	if err != nil || len(cs) != 2 {
		t.Fatalf("claimed %d (%v), want the 2 runs of the ready environment", len(cs), err)
	}
}
