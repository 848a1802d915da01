package bench

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/ade-dev/ade-worker/gen/db"
	"github.com/ade-dev/ade-worker/internal/paths"
	"github.com/ade-dev/ade-worker/internal/store"
)

// noopEngine is the whole noop engine: an ade_engine package whose
// __main__ ignores its arguments and prints one minimal
// engine.run.completed. What a run of it costs is the interpreter's
// start-up in a virtual environment, as for every engine.
const noopEngine = `# ade-bench: the noop engine.
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
			ID: env.ID, WorkerID: ns(setupWorker), AttemptCount: env.AttemptCount,
		})
		return err
	})
	if err != nil {
		return fmt.Errorf("prepare the noop environment: %w", err)
	}
	return nil
}

func ns(s string) sql.NullString { return sql.NullString{String: s, Valid: true} }
