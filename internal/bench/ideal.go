package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ade-dev/ade-worker/gen/db"
	"github.com/ade-dev/ade-worker/internal/engine"
	"github.com/ade-dev/ade-worker/internal/enqueue"
	"github.com/ade-dev/ade-worker/internal/paths"
	"github.com/ade-dev/ade-worker/internal/runopts"
	"github.com/ade-dev/ade-worker/internal/store"
)

// engineCommand is the engine as the worker runs it: the interpreter of the
// environment and the argv the worker builds, with an output folder of its
// own per run.
type engineCommand struct {
	path string
	env  []string
	// args returns the argv after path for a run whose folder is dir.
	args func(dir string) []string
}

// idealCommand is the engine command the worker ran, aimed at the stored
// document and a run folder of the harness.
func idealCommand(ctx context.Context, st *store.Store, layout paths.Layout, warm enqueue.Queued, interp string, environ []string) (engineCommand, error) {
	doc, err := st.Queries().GetDocument(ctx, db.GetDocumentParams{ID: warm.DocumentID, WorkspaceID: workspace})
	if err != nil {
		return engineCommand{}, fmt.Errorf("read the document: %w", err)
	}
	input, err := layout.DocumentPath(workspace, doc.StoredUri)
	if err != nil {
		return engineCommand{}, err
	}
	configDir, err := layout.ConfigPackageDir(workspace, warm.ConfigurationID)
	if err != nil {
		return engineCommand{}, err
	}
	opts, err := runopts.Parse("", "")
	if err != nil {
		return engineCommand{}, err
	}
	return engineCommand{
		path: interp,
		env:  engine.ChildEnv(environ),
		args: func(dir string) []string { return opts.ProcessArgs(input, filepath.Join(dir, "output"), configDir) },
	}, nil
}

// IdealResult is the engine-bound ideal: the same engine command executed
// directly, with the same parallelism, and nothing else.
type IdealResult struct {
	Runs        int `json:"runs"`
	Concurrency int `json:"concurrency"`
	// ElapsedS is the sum of the rounds' wall times.
	ElapsedS   float64 `json:"elapsed_s"`
	Throughput float64 `json:"throughput_runs_per_s"`
	// EngineWall is each execution's wall time, start to exit.
	EngineWall Dist `json:"engine_wall"`
	Failed     int  `json:"failed"`
}

// idealRunner executes the engine command directly, c at a time, output
// discarded, in rounds of the bench.
type idealRunner struct {
	cmd     engineCommand
	dir     string
	c       int
	walls   []time.Duration
	elapsed time.Duration
	rounds  []time.Duration // each round's wall time
	ran     int

	failed   atomic.Int64
	errOnce  sync.Once
	firstErr error
}

// prepareIdeal makes the run folders of n executions before any clock
// starts, and runs the command twice, untimed, to warm the page cache as
// the worker's warm-up run did.
func prepareIdeal(ctx context.Context, cmd engineCommand, dir string, n, c int) (*idealRunner, error) {
	r := &idealRunner{cmd: cmd, dir: dir, c: c, walls: make([]time.Duration, n)}
	for i := -2; i < n; i++ {
		if err := os.MkdirAll(filepath.Join(r.runDir(i), "output"), 0o755); err != nil {
			return nil, err
		}
	}
	for i := -2; i < 0; i++ {
		if _, err := r.exec(ctx, i); err != nil {
			return nil, fmt.Errorf("engine run directly: %w", err)
		}
	}
	return r, nil
}

func (r *idealRunner) runDir(i int) string { return filepath.Join(r.dir, strconv.Itoa(i)) }

func (r *idealRunner) exec(ctx context.Context, i int) (time.Duration, error) {
	x := exec.CommandContext(ctx, r.cmd.path, r.cmd.args(r.runDir(i))...)
	x.Dir = r.runDir(i)
	x.Env = r.cmd.env
	start := time.Now()
	err := x.Run()
	return time.Since(start), err
}

// round executes runs start..start+n-1, c at a time, and adds its wall time.
func (r *idealRunner) round(ctx context.Context, start, n int) error {
	var next atomic.Int64
	next.Store(int64(start))
	var wg sync.WaitGroup
	began := time.Now()
	for range r.c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= start+n || ctx.Err() != nil {
					return
				}
				d, err := r.exec(ctx, i)
				r.walls[i] = d
				if err != nil {
					r.failed.Add(1)
					r.errOnce.Do(func() { r.firstErr = err })
				}
			}
		}()
	}
	wg.Wait()
	r.elapsed += time.Since(began)
	r.rounds = append(r.rounds, time.Since(began))
	r.ran += n
	return ctx.Err()
}

func (r *idealRunner) result() IdealResult {
	res := IdealResult{
		Runs: r.ran, Concurrency: r.c, ElapsedS: round3(r.elapsed.Seconds()),
		EngineWall: distOf(r.walls[:r.ran]), Failed: int(r.failed.Load()),
	}
	if r.elapsed > 0 {
		res.Throughput = round3(float64(r.ran) / r.elapsed.Seconds())
	}
	return res
}
