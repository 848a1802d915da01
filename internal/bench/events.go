package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/ade-dev/ade-worker/internal/paths"
	"github.com/ade-dev/ade-worker/internal/store"
)

// runLog is the events.ndjson of a bench run.
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
