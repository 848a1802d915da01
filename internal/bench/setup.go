package bench

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ade-dev/ade-worker/internal/enqueue"
	"github.com/ade-dev/ade-worker/internal/paths"
)

// prepare migrates the fresh database, readies the engine under test and
// enqueues the warm-up run.
func (b *bench) prepare(ctx context.Context) error {
	if _, err := b.st.MigrateUp(ctx); err != nil {
		return err
	}
	layout, err := paths.New(b.dataDir)
	if err != nil {
		return err
	}
	b.layout = layout
	if b.python, err = realInterpreter(ctx, b.o.Python); err != nil {
		return err
	}
	if err := b.prepareEngine(ctx); err != nil {
		return err
	}
	fmt.Fprintf(b.o.Progress, "bench: work folder %s\n", b.dir)
	return b.enqueueWarmUp(ctx)
}

// prepareEngine builds the noop engine, or resolves the reference engine's
// folder for the worker to build.
func (b *bench) prepareEngine(ctx context.Context) error {
	var err error
	if b.o.Noop {
		b.engineSpec = "noop"
		if b.noopPython, err = buildNoopEngine(ctx, b.dir, b.python); err != nil {
			return err
		}
		b.res.EngineDetail = fmt.Sprintf("an ade_engine that prints one engine.run.completed, in a venv of %s", b.python)
		return nil
	}
	if b.engineSpec, err = filepath.Abs(b.o.EnginePackage); err != nil {
		return err
	}
	b.res.EngineDetail = fmt.Sprintf("%s on %s (venv from %s)", b.engineSpec, filepath.Base(b.o.Input), b.python)
	return nil
}

// enqueueWarmUp enqueues the first run before the worker starts: for the
// reference engine it makes the worker build the environment (not
// measured); for the noop engine the harness marks the environment ready
// itself.
func (b *bench) enqueueWarmUp(ctx context.Context) error {
	warm, err := enqueue.Insert(ctx, b.st, b.layout, enqueue.Request{EngineSpec: b.engineSpec, MaxAttempts: 1},
		enqueue.Request{WorkspaceID: workspace, ConfigDir: b.o.ConfigDir, InputFile: b.o.Input})
	if err != nil {
		return fmt.Errorf("enqueue the warm-up run: %w", err)
	}
	b.warm = warm
	if b.o.Noop {
		return readyNoopEnvironment(ctx, b.st, b.noopPython)
	}
	return nil
}

// launch starts the worker under test on the bench's database.
func (b *bench) launch(ctx context.Context) error {
	b.environ = workerEnviron(b.o.Environ, map[string]string{
		"ADE_DATABASE_URL":        b.dbURL,
		"ADE_WORKER_DATA_DIR":     b.dataDir,
		"ADE_WORKER_CONCURRENCY":  strconv.Itoa(b.o.Concurrency),
		"ADE_WORKER_ID":           "bench-worker",
		"ADE_ENGINE_PACKAGE_PATH": b.engineSpec,
		"ADE_WORKER_PYTHON":       b.python,
	})
	b.logPath = filepath.Join(b.dir, "worker.log")
	w, err := startWorker(ctx, b.o.WorkerPath, b.environ, b.dir, b.logPath)
	if err != nil {
		return err
	}
	b.w = w
	return nil
}

// warmUp waits for the warm-up run (and the reference engine's
// environment), then reads which interpreter the worker ran it with.
func (b *bench) warmUp(ctx context.Context) error {
	what, timeout := "one run", 2*time.Minute
	if !b.o.Noop {
		what, timeout = "the reference engine's environment (venv + pip, offline) and one run", 20*time.Minute
	}
	fmt.Fprintf(b.o.Progress, "bench: warm-up: %s...\n", what)
	r, err := waitTerminal(ctx, b.st, b.w, b.warm.RunID, timeout)
	if err != nil {
		return fmt.Errorf("warm-up run: %w (worker log: %s)", err, b.logPath)
	}
	if r.Status != "succeeded" {
		return fmt.Errorf("warm-up run %s: %s (worker log: %s; run log: %s)", r.Status, r.ErrorMessage.String, b.logPath, runLog(b.layout, b.warm.RunID))
	}
	b.interp, err = environmentInterpreter(ctx, b.st, b.layout, b.warm.RunID)
	return err
}

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
