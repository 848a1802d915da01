package app

import "context"

// RunCursor exposes runCursor to the tests of package app_test.
type RunCursor = runCursor

// GCPass is one pass of the GC loop, which lists expired runs after *runs.
func (w *Worker) GCPass(ctx context.Context, runs *RunCursor) (GCReport, error) {
	return w.gc(ctx, false, runs)
}
