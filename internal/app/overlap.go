package app

import (
	"context"
	"log/slog"
	"sort"
	"sync"
)

// jobTracker knows this worker's jobs in flight by the row they hold.
//
// A row can be claimed again by the same worker while its earlier job still
// runs: an operator put the run back in the queue, or a sweep judged its
// lease expired and the backoff has passed. Both claims carry this worker's
// id, so the fence on claimed_by cannot tell them apart, and the earlier
// job's heartbeats keep succeeding on the new claim. Left alone, that job
// would run its engine beside the new one in the same run folder and could
// write the new claim's row. So a job that finds an earlier job of its row
// stops that one first, as if its claim had been lost (it was), and waits
// for it to end before touching the row's files.
type jobTracker struct {
	mu   sync.Mutex
	jobs map[string]*trackedJob
}

type trackedJob struct {
	cancel context.CancelCauseFunc
	done   chan struct{}
}

// begin registers the job holding key ("run:<id>", "environment:<id>").
// When an earlier job of this worker still holds key, begin cancels it with
// errLeaseLost, so that it writes nothing more, and waits for it to end
// (its subprocess stopped, its event log closed). The returned end must be
// called once the job is over.
func (t *jobTracker) begin(key string, cancel context.CancelCauseFunc, log *slog.Logger) (end func()) {
	me := &trackedJob{cancel: cancel, done: make(chan struct{})}
	t.mu.Lock()
	if t.jobs == nil {
		t.jobs = map[string]*trackedJob{}
	}
	prev := t.jobs[key]
	t.jobs[key] = me
	t.mu.Unlock()
	if prev != nil {
		log.Warn("claimed again while this worker's job for the earlier claim still runs: that claim is gone; stopping its job first")
		prev.cancel(errLeaseLost)
		<-prev.done
	}
	return func() {
		t.mu.Lock()
		if t.jobs[key] == me {
			delete(t.jobs, key)
		}
		t.mu.Unlock()
		close(me.done)
	}
}

// keys lists the rows of the jobs in flight, sorted.
func (t *jobTracker) keys() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	keys := make([]string, 0, len(t.jobs))
	for k := range t.jobs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
