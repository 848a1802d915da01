package app

import (
	"context"
	"testing"
	"time"
)

// A run's job gives its slot back when its engine ends (freeSlot), so the
// next job may start while it writes its outcome; more than
// ADE_WORKER_CONCURRENCY such jobs at once leave no slot free; a job that
// never calls freeSlot holds its slot to the end; a panic after freeSlot
// still settles the counts.
func TestJobsGiveTheirSlotBackEarly(t *testing.T) {
	w, _, _ := benchWorker(t, "/bin/true", "ADE_WORKER_CONCURRENCY=1")
	w.jobsCtx, w.cancelJobs = context.WithCancelCause(context.Background())
	defer w.cancelJobs(nil)
	check := func(step string, free int, jobs, inUse int64) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			gotFree, gotJobs, gotInUse := w.freeSlots(), w.jobCount(), int64(counter(w.metrics.SlotsInUse))
			if gotFree == free && gotJobs == jobs && gotInUse == inUse {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %d free slots, %d jobs, slots-in-use gauge %d; want %d, %d, %d", step, gotFree, gotJobs, gotInUse, free, jobs, inUse)
			}
			time.Sleep(time.Millisecond)
		}
	}
	job := func(early, panics bool) (chan struct{}, chan struct{}) {
		started, release := make(chan struct{}), make(chan struct{})
		w.startJob(w.log, func(_ context.Context, freeSlot func()) {
			if early {
				freeSlot()
				freeSlot() // a second call changes nothing
			}
			close(started)
			<-release
			if panics {
				panic("after the engine")
			}
		})
		<-started
		return started, release
	}
	check("idle", 1, 0, 0)
	_, a := job(true, false)
	check("one job past its engine", 1, 1, 0)
	_, b := job(true, true)
	check("two jobs past their engines, one slot", 0, 2, 0)
	close(a)
	check("one left, past its engine", 1, 1, 0)
	_, c := job(false, false)
	check("a job holding its slot", 0, 2, 1)
	close(b)
	check("the panicking job ended", 0, 1, 1)
	close(c)
	check("all ended", 1, 0, 0)
	w.inflight.Wait()
}
