// Package bench measures the worker as it runs in production and compares
// it with what the engine alone could do.
//
// The worker under test is the ade-worker binary itself, started as a child
// process ("ade-worker run") on a fresh SQLite file, running real engine
// subprocesses. The harness enqueues runs into the same database as the ADE
// API would, reads the outcome back from the rows (created_at, started_at,
// completed_at) and from each run's events.ndjson (the engine's own wall
// time), reads the worker's statement counter and CPU time from its
// /metrics, and its memory from /proc. Then, in the same invocation, it
// executes the same engine command directly, with the same parallelism: the
// engine-bound ideal the worker's throughput is a fraction of.
package bench

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ade-dev/ade-worker/gen/db"
	"github.com/ade-dev/ade-worker/internal/engine"
	"github.com/ade-dev/ade-worker/internal/enqueue"
	"github.com/ade-dev/ade-worker/internal/paths"
	"github.com/ade-dev/ade-worker/internal/runopts"
	"github.com/ade-dev/ade-worker/internal/store"
)

// Options shape one bench invocation. Zero values take the defaults noted.
type Options struct {
	// WorkerPath is the ade-worker binary measured (started as
	// "WorkerPath run"). Required.
	WorkerPath string
	// Dir holds the work folders: each bench makes a fresh one in it
	// (database, data folder, worker log, the direct runs), named in
	// Result.WorkDir. Nothing is deleted before measuring: removing
	// thousands of run folders just before would charge the file system's
	// clean-up to the runs measured. Required.
	Dir string
	// Runs is how many runs the throughput phase enqueues at once (200).
	Runs int
	// Concurrency is ADE_WORKER_CONCURRENCY and the parallelism of the ideal (2).
	Concurrency int
	// Rounds splits the runs into rounds, each a batch for the worker then
	// as many direct engine runs, so that other load on the machine weighs
	// on both sides alike (10, at most Runs).
	Rounds int
	// Noop replaces the reference engine with an ade_engine that only prints a
	// minimal engine.run.completed: what is left is the worker's own cost
	// and the interpreter's start-up.
	Noop bool
	// IdleRuns is how many runs are enqueued one at a time into an idle
	// worker to measure idle pickup (20).
	IdleRuns int
	// IdleWindow is how long an idle worker's statements are counted (10s).
	IdleWindow time.Duration
	// IdleSettle is how long the worker is left alone before that, so its
	// poll backoff reaches its idle steady state (5s).
	IdleSettle time.Duration
	// Python is the interpreter the reference engine's environment is built
	// from and the noop engine runs on (python3).
	Python string
	// EnginePackage is ADE_ENGINE_PACKAGE_PATH for the reference engine.
	EnginePackage string
	// ConfigDir and Input are the configuration package and the document of
	// every run.
	ConfigDir, Input string
	// Environ is the environment the worker starts from; its ADE_* variables
	// are dropped and the bench's own set.
	Environ []string
	// Progress receives a line per phase; nil discards.
	Progress io.Writer
}

func (o Options) withDefaults() Options {
	if o.Runs <= 0 {
		o.Runs = 200
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 2
	}
	if o.Rounds <= 0 {
		o.Rounds = 10
	}
	o.Rounds = min(o.Rounds, o.Runs)
	if o.IdleRuns < 0 {
		o.IdleRuns = 0
	} else if o.IdleRuns == 0 {
		o.IdleRuns = 20
	}
	if o.IdleWindow <= 0 {
		o.IdleWindow = 10 * time.Second
	}
	if o.IdleSettle <= 0 {
		o.IdleSettle = 5 * time.Second
	}
	if o.Python == "" {
		o.Python = "python3"
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	return o
}

// workspace is the workspace every bench run belongs to.
const workspace = "bench"

// setupWorker claims the noop engine's environment; it never runs a job.
const setupWorker = "bench-setup"

// Run performs one bench invocation. On an error after the work folder
// was made, the partial result names it (Result.WorkDir).
func Run(ctx context.Context, o Options) (*Result, error) {
	o = o.withDefaults()
	if o.WorkerPath == "" || o.Dir == "" {
		return nil, errors.New("bench: WorkerPath and Dir are required")
	}
	res := &Result{
		Engine: "reference", Database: "sqlite", Runs: o.Runs, Concurrency: o.Concurrency,
		CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), StartedAt: time.Now().UTC(),
		LoadAverage: loadAverage(),
	}
	if o.Noop {
		res.Engine = "noop"
	}
	parent, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, fmt.Errorf("create work folder: %w", err)
	}
	dir, err := os.MkdirTemp(parent, res.Engine+"-"+res.StartedAt.Format("20060102-150405")+"-")
	if err != nil {
		return nil, fmt.Errorf("create work folder: %w", err)
	}
	res.WorkDir = dir
	dataDir := filepath.Join(dir, "data")
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return res, err
	}

	dbURL := "sqlite:///" + filepath.ToSlash(filepath.Join(dataDir, "db", "ade.sqlite"))
	st, err := store.Open(ctx, dbURL, store.Options{DataDir: dataDir, Create: true})
	if err != nil {
		return res, err
	}
	defer st.Close()
	if _, err := st.MigrateUp(ctx); err != nil {
		return res, err
	}
	layout, err := paths.New(dataDir)
	if err != nil {
		return res, err
	}

	python, err := realInterpreter(ctx, o.Python)
	if err != nil {
		return res, err
	}
	engineSpec := "noop"
	var noopPath string
	if o.Noop {
		noopPath, err = buildNoopEngine(ctx, dir, python)
		if err != nil {
			return res, err
		}
		res.EngineDetail = fmt.Sprintf("an ade_engine that prints one engine.run.completed, in a venv of %s", python)
	} else {
		engineSpec, err = filepath.Abs(o.EnginePackage)
		if err != nil {
			return res, err
		}
		res.EngineDetail = fmt.Sprintf("%s on %s (venv from %s)", engineSpec, filepath.Base(o.Input), python)
	}

	// The first run is enqueued before the worker starts: for the reference
	// engine it makes the worker build the environment (not measured); for
	// the noop engine the harness marks the environment ready itself.
	fmt.Fprintf(o.Progress, "bench: work folder %s\n", dir)
	warm, err := enqueue.Insert(ctx, st, layout, enqueue.Request{EngineSpec: engineSpec, MaxAttempts: 1},
		enqueue.Request{WorkspaceID: workspace, ConfigDir: o.ConfigDir, InputFile: o.Input})
	if err != nil {
		return res, fmt.Errorf("enqueue the warm-up run: %w", err)
	}
	if o.Noop {
		if err := readyNoopEnvironment(ctx, st, noopPath); err != nil {
			return res, err
		}
	}

	environ := workerEnviron(o.Environ, map[string]string{
		"ADE_DATABASE_URL":        dbURL,
		"ADE_WORKER_DATA_DIR":     dataDir,
		"ADE_WORKER_CONCURRENCY":  strconv.Itoa(o.Concurrency),
		"ADE_WORKER_ID":           "bench-worker",
		"ADE_ENGINE_PACKAGE_PATH": engineSpec,
		"ADE_WORKER_PYTHON":       python,
	})
	logPath := filepath.Join(dir, "worker.log")
	w, err := startWorker(ctx, o.WorkerPath, environ, dir, logPath)
	if err != nil {
		return res, err
	}
	stopped := false
	defer func() {
		if !stopped {
			w.kill()
			w.logFile.Close()
		}
	}()

	// Warm-up: the environment and one run.
	what := "one run"
	if !o.Noop {
		what = "the reference engine's environment (venv + pip, offline) and one run"
	}
	fmt.Fprintf(o.Progress, "bench: warm-up: %s...\n", what)
	warmTimeout := 2 * time.Minute
	if !o.Noop {
		warmTimeout = 20 * time.Minute
	}
	if r, err := waitTerminal(ctx, st, w, warm.RunID, warmTimeout); err != nil {
		return res, fmt.Errorf("warm-up run: %w (worker log: %s)", err, logPath)
	} else if r.Status != "succeeded" {
		return res, fmt.Errorf("warm-up run %s: %s (worker log: %s; run log: %s)", r.Status, r.ErrorMessage.String, logPath, runLog(layout, warm.RunID))
	}
	interp, err := environmentInterpreter(ctx, st, layout, warm.RunID)
	if err != nil {
		return res, err
	}

	// Idle: what an idle worker costs the database, then how fast it picks
	// up a run enqueued out of the blue.
	fmt.Fprintf(o.Progress, "bench: idle: counting statements of an idle worker for %s...\n", o.IdleWindow)
	if err := sleep(ctx, o.IdleSettle); err != nil {
		return res, err
	}
	m0, err := w.scrape(ctx)
	if err != nil {
		return res, err
	}
	t0 := time.Now()
	if err := sleep(ctx, o.IdleWindow); err != nil {
		return res, err
	}
	m1, err := w.scrape(ctx)
	if err != nil {
		return res, err
	}
	res.Idle.WindowS = round3(time.Since(t0).Seconds())
	res.Idle.StatementsPerS = round3((m1[statementsMetric] - m0[statementsMetric]) / time.Since(t0).Seconds())
	res.Idle.CPUPercent = round3(100 * (m1[cpuMetric] - m0[cpuMetric]) / time.Since(t0).Seconds())

	if o.IdleRuns > 0 {
		fmt.Fprintf(o.Progress, "bench: idle pickup: %d runs enqueued one at a time into an idle worker...\n", o.IdleRuns)
		if err := idlePickup(ctx, st, w, warm, engineSpec, o.IdleRuns, &res.Idle); err != nil {
			return res, err
		}
	}

	// Throughput against the ideal, in interleaved rounds: a batch enqueued
	// in one transaction into the idle worker, then, with the worker
	// stopped (SIGSTOP), as many direct executions of the same engine
	// command. Whatever else the machine does then weighs on both alike.
	cmd, err := idealCommand(ctx, st, layout, warm, interp, environ)
	if err != nil {
		return res, err
	}
	ideal, err := prepareIdeal(ctx, cmd, filepath.Join(dir, "direct"), o.Runs, o.Concurrency)
	if err != nil {
		return res, err
	}
	fmt.Fprintf(o.Progress, "bench: throughput: %d runs at concurrency %d in %d rounds, each followed by as many direct engine runs...\n",
		o.Runs, o.Concurrency, o.Rounds)
	rssBefore, _, _ := w.memory()
	stopSampling := w.sampleRSS(200 * time.Millisecond)
	var (
		rounds        [][]string
		first, last   map[string]float64
		statements    float64
		cpu           float64
		userCPU       time.Duration
		systemCPU     time.Duration
		timeout       = 10*time.Minute + time.Duration(o.Runs)*time.Second
		idealStart    = 0
		roundFailures error
	)
	for i := range o.Rounds {
		n := o.Runs / o.Rounds
		if i < o.Runs%o.Rounds {
			n++
		}
		if i > 0 {
			if err := w.resume(); err != nil {
				roundFailures = err
				break
			}
		}
		before, err := w.scrape(ctx)
		if err != nil {
			roundFailures = err
			break
		}
		if first == nil {
			first = before
		}
		u0, s0, err := cpuTimes(w.cmd.Process.Pid)
		if err != nil {
			roundFailures = err
			break
		}
		ids, err := enqueueBatch(ctx, st, warm, engineSpec, n)
		if err != nil {
			roundFailures = err
			break
		}
		rounds = append(rounds, ids)
		if err := waitDrained(ctx, st, w, timeout); err != nil {
			roundFailures = fmt.Errorf("throughput round %d: %w (worker log: %s)", i+1, err, logPath)
			break
		}
		after, err := w.scrape(ctx)
		if err != nil {
			roundFailures = err
			break
		}
		last = after
		statements += after[statementsMetric] - before[statementsMetric]
		cpu += after[cpuMetric] - before[cpuMetric]
		u1, s1, err := cpuTimes(w.cmd.Process.Pid)
		if err != nil {
			roundFailures = err
			break
		}
		userCPU += u1 - u0
		systemCPU += s1 - s0
		if err := w.pause(); err != nil {
			roundFailures = err
			break
		}
		if err := ideal.round(ctx, idealStart, n); err != nil {
			roundFailures = err
			break
		}
		idealStart += n
	}
	samples := stopSampling()
	if err := w.resume(); err != nil && roundFailures == nil {
		roundFailures = err
	}
	if roundFailures != nil {
		return res, roundFailures
	}
	rssAfter, hwm, err := w.memory()
	if err != nil {
		return res, fmt.Errorf("read worker memory: %w", err)
	}
	code, err := w.stop(time.Minute)
	stopped = true
	if err != nil {
		return res, err
	}
	res.WorkerExitCode = code

	if err := analyseRounds(ctx, st, layout, rounds, o.Concurrency, res); err != nil {
		return res, err
	}
	res.Rounds = o.Rounds
	res.Worker.Statements = int64(statements)
	res.Worker.StatementsPerRun = round3(statements / float64(o.Runs))
	res.Worker.CPUPerRunMs = round3(1000 * cpu / float64(o.Runs))
	res.Worker.UserCPUPerRunMs = round3(float64(userCPU.Microseconds()) / 1000 / float64(o.Runs))
	res.Worker.SystemCPUPerRunMs = round3(float64(systemCPU.Microseconds()) / 1000 / float64(o.Runs))
	res.Memory = memoryResult(samples, res.batchCompletions, rssBefore, rssAfter, hwm, first, last)
	res.Ideal = ideal.result()
	if res.Ideal.Failed > 0 {
		return res, fmt.Errorf("%d of %d direct engine runs failed, first: %v", res.Ideal.Failed, o.Runs, ideal.firstErr)
	}
	if res.Ideal.Throughput > 0 {
		res.Ratio = round3(res.Worker.Throughput / res.Ideal.Throughput)
	}
	for i, we := range res.roundElapsed {
		if i < len(ideal.rounds) && we > 0 {
			res.RoundRatios = append(res.RoundRatios, round3(ideal.rounds[i].Seconds()/we.Seconds()))
		}
	}
	return res, nil
}

// Metric names read from the worker's /metrics.
const (
	statementsMetric = "ade_worker_db_statements_total"
	cpuMetric        = "process_cpu_seconds_total"
	goroutinesMetric = "go_goroutines"
	heapMetric       = "go_memstats_heap_inuse_bytes"
)

// workerEnviron is base without its ADE_* variables (the operator's
// database must never be touched), plus set, plus offline pip settings when
// the operator gave no package index and the system wheels can build the
// engine.
func workerEnviron(base []string, set map[string]string) []string {
	out := make([]string, 0, len(base)+len(set)+2)
	pipIndex := false
	links := ""
	for _, kv := range base {
		k, v, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(k, "ADE_"):
			continue
		case k == "PIP_INDEX_URL" || k == "PIP_NO_INDEX":
			pipIndex = true
		case k == "PIP_FIND_LINKS":
			links = v
			continue
		}
		out = append(out, kv)
	}
	if !pipIndex && hasSystemWheels() {
		out = append(out, "PIP_NO_INDEX=1")
		links = strings.TrimSpace(links + " " + systemWheels)
	}
	if links != "" {
		out = append(out, "PIP_FIND_LINKS="+links)
	}
	for k, v := range set {
		out = append(out, k+"="+v)
	}
	return out
}

// systemWheels is where Debian's python3-*-whl packages put wheels.
const systemWheels = "/usr/share/python-wheels"

func hasSystemWheels() bool {
	st, _ := filepath.Glob(filepath.Join(systemWheels, "setuptools-*.whl"))
	wh, _ := filepath.Glob(filepath.Join(systemWheels, "wheel-*.whl"))
	return len(st) > 0 && len(wh) > 0
}

// realInterpreter resolves python to the interpreter binary behind it, so a
// version manager's shim adds nothing to what is measured.
func realInterpreter(ctx context.Context, python string) (string, error) {
	out, err := exec.CommandContext(ctx, python, "-c", "import sys; print(sys.executable)").Output()
	if err != nil {
		return "", fmt.Errorf("find the Python interpreter behind %q: %w", python, err)
	}
	p := strings.TrimSpace(string(out))
	if p == "" {
		return "", fmt.Errorf("%q did not report its executable", python)
	}
	return p, nil
}

// noopEngine is the whole noop engine: an ade_engine package whose
// __main__ ignores its arguments and prints one minimal
// engine.run.completed. What a run of it costs is the interpreter's
// start-up in a virtual environment, as for every engine.
const noopEngine = `# ade-worker bench: the noop engine.
import sys
sys.stdout.write('{"event":"engine.run.completed","level":"info","message":"noop","data":{"execution":{"status":"succeeded"}}}\n')
`

// buildNoopEngine makes a virtual environment (no pip: nothing is
// installed from anywhere) holding the noop ade_engine package, so the
// worker runs "<venv python> -m ade_engine process file ..." exactly as
// it runs the reference engine. It returns the environment's interpreter.
func buildNoopEngine(ctx context.Context, dir, python string) (string, error) {
	venv := filepath.Join(dir, "noop-engine", ".venv")
	if out, err := exec.CommandContext(ctx, python, "-m", "venv", "--without-pip", venv).CombinedOutput(); err != nil {
		return "", fmt.Errorf("create the noop engine's virtual environment: %w: %s", err, out)
	}
	interp := paths.VenvPython(venv)
	out, err := exec.CommandContext(ctx, interp, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").Output()
	if err != nil {
		return "", fmt.Errorf("find the noop engine's site-packages: %w", err)
	}
	pkg := filepath.Join(strings.TrimSpace(string(out)), "ade_engine")
	if err := os.MkdirAll(pkg, 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(pkg, "__init__.py"), nil, 0o644); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(pkg, "__main__.py"), []byte(noopEngine), 0o644); err != nil {
		return "", err
	}
	return interp, nil
}

// readyNoopEnvironment creates the environment the queued runs need and
// marks it ready with the noop engine as its interpreter, through the same
// queries a build uses.
func readyNoopEnvironment(ctx context.Context, st *store.Store, interpreter string) error {
	err := st.Write(ctx, func(q *db.Queries) error {
		if _, err := q.EnsureEnvironments(ctx, nil); err != nil {
			return err
		}
		env, err := q.ClaimEnvironment(ctx, db.ClaimEnvironmentParams{WorkerID: ns(setupWorker), LeaseSeconds: 600})
		if err != nil {
			return err
		}
		_, err = q.MarkEnvironmentReady(ctx, db.MarkEnvironmentReadyParams{
			PythonVersion: ns("noop"), PythonInterpreter: ns(interpreter), EngineVersion: ns("noop"),
			ID: env.ID, WorkerID: ns(setupWorker),
		})
		return err
	})
	if err != nil {
		return fmt.Errorf("prepare the noop environment: %w", err)
	}
	return nil
}

func ns(s string) sql.NullString { return sql.NullString{String: s, Valid: true} }

// enqueueBatch inserts n runs of the warm-up run's configuration and
// document in one transaction, as an API burst would, and returns their ids.
func enqueueBatch(ctx context.Context, st *store.Store, warm enqueue.Queued, engineSpec string, n int) ([]string, error) {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = uuid.NewString()
	}
	err := st.Write(ctx, func(q *db.Queries) error {
		for _, id := range ids {
			if err := q.InsertRun(ctx, db.InsertRunParams{
				ID: id, WorkspaceID: workspace, ConfigurationID: warm.ConfigurationID, InputDocumentID: warm.DocumentID,
				EngineSpec: engineSpec, DepsDigest: warm.DepsDigest, MaxAttempts: 1,
			}); err != nil {
				return fmt.Errorf("insert run: %w", err)
			}
		}
		return nil
	})
	return ids, err
}

// idlePickup enqueues runs one at a time, each after a random pause of
// 0.5-1.5 s with the worker idle, and measures queued -> running.
func idlePickup(ctx context.Context, st *store.Store, w *workerProc, warm enqueue.Queued, engineSpec string, n int, out *IdleResult) error {
	var pickup, e2e []time.Duration
	for range n {
		if err := sleep(ctx, 500*time.Millisecond+rand.N(time.Second)); err != nil {
			return err
		}
		ids, err := enqueueBatch(ctx, st, warm, engineSpec, 1)
		if err != nil {
			return err
		}
		r, err := waitTerminal(ctx, st, w, ids[0], 2*time.Minute)
		if err != nil {
			return fmt.Errorf("idle pickup: %w", err)
		}
		if !r.StartedAt.Valid || !r.CompletedAt.Valid {
			return fmt.Errorf("idle pickup: run %s ended %s without being started (%s)", r.ID, r.Status, r.ErrorMessage.String)
		}
		pickup = append(pickup, r.StartedAt.Time.Sub(r.CreatedAt.Time))
		e2e = append(e2e, r.CompletedAt.Time.Sub(r.CreatedAt.Time))
	}
	out.Runs = n
	out.Pickup = distOf(pickup)
	out.EndToEnd = distOf(e2e)
	return nil
}

// waitTerminal polls a run until it has succeeded or failed.
func waitTerminal(ctx context.Context, st *store.Store, w *workerProc, id string, timeout time.Duration) (db.Run, error) {
	deadline := time.Now().Add(timeout)
	for {
		r, err := st.Queries().GetRun(ctx, id)
		if err != nil {
			return r, fmt.Errorf("read run %s: %w", id, err)
		}
		if r.Status == "succeeded" || r.Status == "failed" {
			return r, nil
		}
		if !w.running() {
			return r, errors.New("the worker exited")
		}
		if time.Now().After(deadline) {
			return r, fmt.Errorf("run %s still %s after %s", id, r.Status, timeout)
		}
		if err := sleep(ctx, 10*time.Millisecond); err != nil {
			return r, err
		}
	}
}

// waitDrained polls until no run is queued or running, with two index
// seeks (never a count over the queue, which would take CPU from the worker
// being measured). The poll's pace does not matter to the figures: they
// come from the rows' own timestamps.
func waitDrained(ctx context.Context, st *store.Store, w *workerProc, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		queued, err := st.Queries().OldestQueuedRun(ctx)
		if err != nil {
			return err
		}
		running, err := st.Queries().ListRunningLeases(ctx)
		if err != nil {
			return err
		}
		if len(queued) == 0 && len(running) == 0 {
			return nil
		}
		if !w.running() {
			return errors.New("the worker exited")
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("runs still pending after %s", timeout)
		}
		if err := sleep(ctx, 250*time.Millisecond); err != nil {
			return err
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func runLog(layout paths.Layout, runID string) string {
	rp, err := layout.Run(workspace, runID)
	if err != nil {
		return ""
	}
	return rp.Events
}

// runEvents reads the run's events.ndjson: the environment it ran in (from
// the context of its records) and the execution times of its run.complete.
type runEvents struct {
	environmentID string
	complete      bool
	wallMs        int64
	engineWallUs  int64
	engineWallMs  int64
}

func readRunEvents(path string) (runEvents, error) {
	f, err := os.Open(path)
	if err != nil {
		return runEvents{}, err
	}
	defer f.Close()
	var out runEvents
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		var rec struct {
			Event string `json:"event"`
			Data  struct {
				Execution struct {
					WallMs       int64 `json:"wall_ms"`
					EngineWallMs int64 `json:"engine_wall_ms"`
					EngineWallUs int64 `json:"engine_wall_us"`
				} `json:"execution"`
			} `json:"data"`
			Context struct {
				EnvironmentID string `json:"environment_id"`
			} `json:"context"`
		}
		line := sc.Bytes()
		if !strings.Contains(string(line), `"run.`) {
			continue
		}
		if err := json.Unmarshal(line, &rec); err != nil {
			continue
		}
		if out.environmentID == "" {
			out.environmentID = rec.Context.EnvironmentID
		}
		if rec.Event == "run.complete" {
			out.complete = true
			out.wallMs = rec.Data.Execution.WallMs
			out.engineWallMs = rec.Data.Execution.EngineWallMs
			out.engineWallUs = rec.Data.Execution.EngineWallUs
		}
	}
	return out, sc.Err()
}

// engineWall is the engine process's wall time: microseconds when the
// worker recorded them, else milliseconds (truncated, so half a
// millisecond is added back on average).
func (e runEvents) engineWall() time.Duration {
	if e.engineWallUs > 0 {
		return time.Duration(e.engineWallUs) * time.Microsecond
	}
	return time.Duration(e.engineWallMs)*time.Millisecond + 500*time.Microsecond
}

// environmentInterpreter is the interpreter of the environment the run
// used, as the worker recorded it.
func environmentInterpreter(ctx context.Context, st *store.Store, layout paths.Layout, runID string) (string, error) {
	ev, err := readRunEvents(runLog(layout, runID))
	if err != nil {
		return "", fmt.Errorf("read the warm-up run's events: %w", err)
	}
	env, err := st.Queries().GetEnvironment(ctx, ev.environmentID)
	if err != nil {
		return "", fmt.Errorf("read environment %q: %w", ev.environmentID, err)
	}
	if !env.PythonInterpreter.Valid {
		return "", fmt.Errorf("environment %s has no interpreter", env.ID)
	}
	return env.PythonInterpreter.String, nil
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

// loadAverage is /proc/loadavg's first three fields: other work on the
// machine while the bench ran.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}
