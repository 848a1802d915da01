package app

import "context"

// RunCursor exposes runCursor to the tests of package app_test.
type RunCursor = runCursor

// WakeByPolling makes w read data_version on a timer instead of watching
// the database's folder, as it does off Linux.
func WakeByPolling(w *Worker) { w.wakeByPolling = true }

// GCPass is one pass of the GC loop, which lists expired runs after *runs.
func (w *Worker) GCPass(ctx context.Context, runs *RunCursor) (GCReport, error) {
	return w.gc(ctx, false, runs)
}
