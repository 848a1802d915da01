package envbuild

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/ade-dev/ade-worker/internal/engine"
	"github.com/ade-dev/ade-worker/internal/eventlog"
)

// probeEvent is printed by the last step with the versions to record.
const probeEvent = "environment.probe"

// probeScript imports the engine the way a run will, so a broken install
// fails the build rather than the first run, and reports what Info records.
const probeScript = `import json, platform, sys
from datetime import datetime, timezone
import ade_engine
print(json.dumps({
    "timestamp": datetime.now(timezone.utc).isoformat().replace("+00:00", "Z"),
    "level": "info",
    "event": "` + probeEvent + `",
    "message": "ade_engine imports",
    "data": {
        "python_version": platform.python_version(),
        "engine_version": str(getattr(ade_engine, "__version__", "") or ""),
        "executable": sys.executable,
    },
}, separators=(",", ":")))
`

// step is one subprocess of a build. Its name is the command as a person
// would type it, and starts every error the step returns.
type step struct {
	name string
	path string
	args []string
	// shown replaces args in the step's record when they are too long to
	// be worth reading.
	shown []string
}

func (b *builder) steps() []step {
	engineStep := step{name: "pip install -e " + b.engineDir, path: b.python, args: []string{"-m", "pip", "install", "-e", b.engineDir}}
	if b.engineDir == "" {
		engineStep = step{name: "pip install " + b.engineReq, path: b.python, args: []string{"-m", "pip", "install", b.engineReq}}
	}
	return []step{
		{name: "python -m venv " + b.venv, path: b.spec.Python, args: []string{"-m", "venv", b.venv}},
		engineStep,
		{name: "pip install -e " + b.configDir, path: b.python, args: []string{"-m", "pip", "install", "-e", b.configDir}},
		{name: "import ade_engine", path: b.python, args: []string{"-c", probeScript}, shown: []string{"-c", "<print versions>"}},
	}
}

func (b *builder) build(ctx context.Context) (Info, error) {
	if err := os.MkdirAll(b.spec.EnvDir, 0o755); err != nil {
		return Info{}, fmt.Errorf("build environment: create environment folder: %w", err)
	}
	// A venv left by an interrupted build is never trusted: start over.
	if err := os.RemoveAll(b.venv); err != nil {
		return Info{}, fmt.Errorf("build environment: remove earlier venv: %w", err)
	}
	var probe *eventlog.EngineEvent
	for _, st := range b.steps() {
		ev, err := b.run(ctx, st)
		if err != nil {
			return Info{}, err
		}
		if ev != nil {
			probe = ev
		}
	}
	if probe == nil {
		return Info{}, errors.New("import ade_engine: the check printed no versions")
	}
	info, err := parseProbe(probe.Data)
	if err != nil {
		return Info{}, fmt.Errorf("import ade_engine: %w", err)
	}
	info.Interpreter = b.python
	return info, nil
}

// run runs one step and turns its failure into an error a person can act on.
// It returns the versions event printed by the last step, if any.
func (b *builder) run(ctx context.Context, st step) (*eventlog.EngineEvent, error) {
	log := b.spec.Log
	shown := st.args
	if st.shown != nil {
		shown = st.shown
	}
	log.Emit("info", "environment.step.start", st.name, map[string]any{
		"step":    st.name,
		"command": append([]string{st.path}, shown...),
	})
	var probe *eventlog.EngineEvent
	res, err := engine.Run(ctx, engine.Spec{
		Path:  st.path,
		Args:  st.args,
		Dir:   b.spec.EnvDir,
		Env:   b.env,
		Log:   log,
		Scope: "environment",
		OnEvent: func(ev *eventlog.EngineEvent) {
			if ev.Name == probeEvent {
				probe = ev
			}
		},
	})
	if ctx.Err() != nil {
		// Stopped by the build's deadline or by the caller: say which.
		cause := context.Cause(ctx)
		if errors.Is(cause, ErrTimeout) {
			err = fmt.Errorf("%s: %w after %s", st.name, ErrTimeout, b.spec.Timeout)
		} else {
			err = fmt.Errorf("%s: %w", st.name, cause)
		}
		log.Emit("error", "environment.step.complete", err.Error(), stepData(st, res))
		return nil, err
	}
	if err != nil {
		log.Emit("error", "environment.step.complete", err.Error(), map[string]any{"step": st.name})
		return nil, fmt.Errorf("%s: %w", st.name, err)
	}
	if res.ExitCode != 0 {
		err := fmt.Errorf("%s: %s", st.name, describeFailure(res))
		log.Emit("error", "environment.step.complete", err.Error(), stepData(st, res))
		return nil, err
	}
	log.Emit("info", "environment.step.complete", st.name, stepData(st, res))
	return probe, nil
}

func stepData(st step, res engine.Result) map[string]any {
	d := map[string]any{
		"step":        st.name,
		"exit_code":   res.ExitCode,
		"duration_ms": res.Duration.Milliseconds(),
	}
	if res.Signal != "" {
		d["signal"] = res.Signal
	}
	return d
}

// parseProbe reads the versions printed by probeScript.
func parseProbe(data json.RawMessage) (Info, error) {
	var p struct {
		PythonVersion string `json:"python_version"`
		EngineVersion string `json:"engine_version"`
	}
	if err := json.Unmarshal(data, &p); err != nil {
		return Info{}, fmt.Errorf("read versions: %w", err)
	}
	if p.PythonVersion == "" {
		return Info{}, errors.New("read versions: no Python version printed")
	}
	return Info{PythonVersion: p.PythonVersion, EngineVersion: p.EngineVersion}, nil
}
