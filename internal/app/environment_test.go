package app_test

// Environment builds that fail, and environments whose venv vanished.

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ade-dev/ade-worker/internal/store"
	"github.com/ade-dev/ade-worker/internal/store/storetest"
)

// TestFailedEnvironmentBuild makes every build fail (ADE_WORKER_PYTHON
// cannot create a venv): the build is tried ADE_WORKER_ENV_BUILD_MAX_ATTEMPTS
// times with a backoff, then the environment fails and so do the runs
// waiting on it, with the build's error.
func TestFailedEnvironmentBuild(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		h := newHarness(t, st)
		python := h.fakeEngine("python", `echo "fake python: No module named venv" >&2
exit 1`)
		h.settings = append(h.settings, "ADE_WORKER_PYTHON="+python, "ADE_WORKER_ENV_BUILD_MAX_ATTEMPTS=2",
			"ADE_WORKER_BACKOFF_BASE_SECONDS=0.5")
		runs := []string{h.enqueue("members.csv", nil).RunID, h.enqueue("members.xlsx", nil).RunID}
		h.drain(h.worker())

		if calls := h.calls("python"); len(calls) != 2 {
			t.Errorf("the build ran %d times, want 2: %q", len(calls), calls)
		}
		env := h.onlyEnvironment()
		if env.Status != "failed" || env.AttemptCount != 2 || env.ClaimedBy.Valid || env.ClaimExpiresAt.Valid ||
			!strings.Contains(env.ErrorMessage.String, "No module named venv") || !strings.Contains(env.ErrorMessage.String, "python -m venv") {
			t.Errorf("environment row = %+v; want failed after 2 attempts with the build's error", env)
		}
		evs := h.environmentEvents(env)
		if got := workerEvents(evs, "environment."); !slices.Equal(got, []string{
			"environment.start", "environment.step.start", "environment.step.complete", "environment.failed",
			"environment.start", "environment.step.start", "environment.step.complete", "environment.failed",
		}) {
			t.Fatalf("environment events = %q", got)
		}
		failures := named(evs, "environment.failed")
		if failures[0].Data["final"] != false || failures[1].Data["final"] != true {
			t.Errorf("environment.failed data: %v then %v; want final false then true", failures[0].Data, failures[1].Data)
		}
		due := parseDBTime(t, failures[0].Data["available_at"].(string))
		if second := named(evs, "environment.start")[1].time(t); second.Before(due) {
			t.Errorf("the second build started at %s, before it was due at %s", second, due)
		}
		if first := named(evs, "environment.start")[0].time(t); due.Sub(first) < 499*time.Millisecond {
			t.Errorf("the build was due again %s after it started; want at least the 0.5 s backoff", due.Sub(first))
		}

		for _, id := range runs {
			run := h.run(id)
			if run.Status != "failed" || run.AttemptCount != 0 || !run.CompletedAt.Valid ||
				!strings.HasPrefix(run.ErrorMessage.String, "environment build failed: ") ||
				!strings.Contains(run.ErrorMessage.String, "No module named venv") {
				t.Errorf("run row = %+v; want failed with the build's error, no attempt spent", run)
			}
			evs := h.runEvents(id)
			if len(evs) != 1 || evs[0].Event != "run.complete" || evs[0].Data["status"] != "failed" || evs[0].Data["error"] != run.ErrorMessage.String {
				t.Errorf("run events = %q; want one run.complete with the error", eventNames(evs))
			}
		}
	})
}

// TestVanishedInterpreterIsRebuilt removes a ready environment's venv from
// disk: the runs that meet it are released without spending their attempt,
// the environment is rebuilt once, and the runs then succeed.
//
// The builder is a stand-in for python3 whose venv's python runs pip as a
// no-op and everything else with the reference venv's python: the worker's
// part (requeue, rebuild, release, reclaim) is real and the runs use the
// real engine, without a second full venv build.
func TestVanishedInterpreterIsRebuilt(t *testing.T) {
	t.Parallel()
	r := referenceEnvironment(t)
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		h := newHarness(t, st)
		builder := h.fakeEngine("python3", standInBuilder(r.interpreter()))
		h.settings = append(h.settings, "ADE_WORKER_PYTHON="+builder)
		first := h.enqueue("members.csv", nil)
		h.drain(h.worker())
		envID := named(h.runEvents(first.RunID), "run.start")[0].Context["environment_id"].(string)
		checkSucceeded(h, first.RunID, envID)
		env := h.environment(envID)
		if env.Status != "ready" || env.AttemptCount != 1 {
			t.Fatalf("environment row = %+v; want ready after one build", env)
		}

		if err := os.RemoveAll(filepath.Dir(filepath.Dir(env.PythonInterpreter.String))); err != nil {
			t.Fatal(err)
		}
		again := []string{h.enqueue("members.csv", nil).RunID, h.enqueue("members.xlsx", nil).RunID}
		h.drain(h.worker())

		if calls := h.calls("python3"); len(calls) != 2 {
			t.Errorf("the environment was built %d times, want 2 (once, then once more): %q", len(calls), calls)
		}
		rebuilt := h.environment(envID)
		if rebuilt.Status != "ready" || rebuilt.AttemptCount != 1 || rebuilt.ErrorMessage.Valid ||
			rebuilt.PythonInterpreter.String != env.PythonInterpreter.String {
			t.Errorf("environment row = %+v; want ready again after one build", rebuilt)
		}
		if _, err := os.Stat(rebuilt.PythonInterpreter.String); err != nil {
			t.Errorf("the interpreter is still missing: %v", err)
		}
		if got := workerEvents(h.environmentEvents(rebuilt), "environment.complete"); len(got) != 2 {
			t.Errorf("environment.complete events: %d, want 2", len(got))
		}
		released := 0
		for _, id := range again {
			evs := checkSucceeded(h, id, envID)
			if n := len(named(evs, "run.released")); n > 0 {
				released++
				if len(named(evs, "run.environment_missing")) != n {
					t.Errorf("run %s was released without saying the interpreter was missing: %q", id, eventNames(evs))
				}
			}
		}
		if released == 0 {
			t.Error("no run met the missing interpreter")
		}
	})
}
