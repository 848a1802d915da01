package app

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

// A panic inside a job's work becomes that job's outcome, logged, and the
// code after it (the outcome's write) still runs.
func TestGuardedTurnsAPanicIntoTheOutcome(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	out := guarded(log, func() runOutcome { panic("boom") },
		func(p any) runOutcome { return failed(true, "internal error in the worker: %v", p) })
	if out.kind != outcomeRetryable || out.err != "internal error in the worker: boom" {
		t.Errorf("outcome %+v, want a retryable failure naming the panic", out)
	}
	if !strings.Contains(buf.String(), "job panicked") || !strings.Contains(buf.String(), "boom") {
		t.Errorf("log %q does not report the panic", buf.String())
	}
	if out := guarded(log, func() int { return 7 }, func(any) int { return -1 }); out != 7 {
		t.Errorf("guarded without a panic returned %d, want the work's 7", out)
	}
}

// A job that panics outside its guard still gives its slot back, and the
// next job starts: no panic reaches the loop.
func TestAPanickingJobGivesItsSlotBack(t *testing.T) {
	w, _, _ := benchWorker(t, "/bin/true")
	before := w.freeSlots()
	w.startJob(w.log, func(context.Context, func()) { panic("outside the guard") })
	w.inflight.Wait()
	if got := w.freeSlots(); got != before {
		t.Fatalf("free slots %d after a panicking job, want %d", got, before)
	}
	var ran sync.WaitGroup
	ran.Add(1)
	w.startJob(w.log, func(context.Context, func()) { ran.Done() })
	ran.Wait()
	w.inflight.Wait()
}
