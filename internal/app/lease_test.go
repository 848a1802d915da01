package app_test

// Claims that end early: a lease taken over by another worker, and a worker
// stopped in the middle of its work.

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/ade-dev/ade-worker/gen/db"
	"github.com/ade-dev/ade-worker/internal/store"
	"github.com/ade-dev/ade-worker/internal/store/storetest"
)

// TestLostLeaseStopsTheEngine takes a running run's claim away (another
// worker now holds it): the old worker's next heartbeat finds the claim
// gone, stops the engine at once and writes nothing to the row.
func TestLostLeaseStopsTheEngine(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		h := newHarness(t, st, "ADE_WORKER_LEASE_SECONDS=3")
		e := h.enqueue("members.csv", nil)
		engine := h.fakeEngine("slow-engine", `echo $$ > "$DIR/engine.pid"
exec sleep 300`)
		h.readyEnvironment(engine)
		wr := h.start(h.worker())

		h.waitFor("the engine to start", h.exists("engine.pid"))
		pid := readPid(t, filepath.Join(h.dir, "engine.pid"))
		before := h.run(e.RunID)
		if before.Status != "running" || before.ClaimedBy.String != "worker-a" {
			t.Fatalf("run row = %+v; want running, claimed by worker-a", before)
		}
		if n := h.exec("steal_run", sql.Named("id", e.RunID), sql.Named("worker_id", "worker-thief")); n != 1 {
			t.Fatalf("steal run changed %d rows", n)
		}
		stolen := h.run(e.RunID)
		taken := time.Now()

		// Heartbeats come every second; without them the engine would sleep
		// for 300 s.
		h.waitFor("the engine to be stopped", func() bool { return !alive(pid) })
		if took := time.Since(taken); took > 20*time.Second {
			t.Errorf("the engine was stopped %s after the claim was taken", took)
		}
		h.waitFor("the run.lost event", func() bool {
			evs, _ := readEvents(h.runPaths(e.RunID).Events)
			return len(named(evs, "run.lost")) == 1
		})
		if err := wr.stop(t); err != nil {
			t.Fatalf("worker: %v", err)
		}

		after := h.run(e.RunID)
		if !reflect.DeepEqual(after, stolen) {
			t.Errorf("the old worker changed the row:\nstolen %+v\n after %+v", stolen, after)
		}
		evs := h.runEvents(e.RunID)
		if got := workerEvents(evs, "run."); !slices.Equal(got, []string{"run.start", "run.engine.start", "run.lost"}) {
			t.Errorf("worker events = %q; want run.start, run.engine.start, run.lost", got)
		}
	})
}

// TestShutdownReleasesTheRun stops a worker in the middle of a long run,
// with no grace left: the engine is stopped, the run goes back to the queue
// without spending its attempt, and a second worker finishes it at once
// rather than after the lease.
func TestShutdownReleasesTheRun(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		settings []string
		stop     func(r *running)
	}{
		{"grace 0", []string{"ADE_WORKER_SHUTDOWN_GRACE_SECONDS=0"}, func(r *running) { r.cancel() }},
		{"StopNow", []string{"ADE_WORKER_SHUTDOWN_GRACE_SECONDS=600"}, func(r *running) { r.cancel(); r.w.StopNow() }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, st *store.Store) {
				h := newHarness(t, st, append([]string{"ADE_WORKER_LEASE_SECONDS=60"}, c.settings...)...)
				e := h.enqueue("members.csv", nil)
				// The first start hangs; any later one succeeds.
				engine := h.fakeEngine("engine", `if mkdir "$DIR/first" 2>/dev/null; then
  echo $$ > "$DIR/engine.pid"
  exec sleep 300
fi
`+fakeSucceed)
				h.readyEnvironment(engine)
				wr := h.start(h.worker())
				h.waitFor("the engine to start", h.exists("engine.pid"))
				pid := readPid(t, filepath.Join(h.dir, "engine.pid"))
				claimed := h.run(e.RunID)
				if claimed.Status != "running" || claimed.AttemptCount != 1 || !claimed.ClaimExpiresAt.Valid {
					t.Fatalf("run row = %+v; want running on attempt 1", claimed)
				}

				stopped := make(chan error, 1)
				go func() { stopped <- wr.stop(t) }()
				c.stop(wr)
				select {
				case err := <-stopped:
					if err != nil {
						t.Fatalf("worker: %v", err)
					}
				case <-time.After(60 * time.Second):
					t.Fatal("the worker did not stop although its grace was over")
				}
				if alive(pid) {
					t.Error("the engine is still running after the worker stopped")
				}
				released := h.run(e.RunID)
				if released.Status != "queued" || released.AttemptCount != 0 || released.ClaimedBy.Valid ||
					released.ClaimExpiresAt.Valid || released.ErrorMessage.Valid || released.CompletedAt.Valid {
					t.Fatalf("released row = %+v; want queued, attempt 0 (not spent), unclaimed", released)
				}
				rel := named(h.runEvents(e.RunID), "run.released")
				if len(rel) != 1 || rel[0].Data["reason"] != "worker shutting down" {
					t.Errorf("run.released events = %v", rel)
				}

				h.drain(h.worker("ADE_WORKER_ID=worker-b"))
				done := h.run(e.RunID)
				if done.Status != "succeeded" || done.AttemptCount != 1 || done.ClaimedBy.String != "worker-b" {
					t.Fatalf("run row = %+v; want succeeded by worker-b on attempt 1", done)
				}
				if !done.CompletedAt.Time.Before(claimed.ClaimExpiresAt.Time.Time) {
					t.Errorf("completed at %s, not before the first claim's lease ran out (%s)", done.CompletedAt.Time, claimed.ClaimExpiresAt.Time)
				}
				if n := len(h.calls("engine")); n != 2 {
					t.Errorf("the engine was started %d times, want 2", n)
				}
				evs := h.runEvents(e.RunID)
				if got := workerEvents(evs, "run."); !slices.Equal(got, []string{
					"run.start", "run.engine.start", "run.released",
					"run.start", "run.engine.start", "run.complete",
				}) {
					t.Errorf("worker events = %q", got)
				}
			})
		})
	}
}

// TestLostBuildClaimStopsTheBuild takes a building environment's claim away:
// the old worker stops the build at once and writes nothing to the row.
func TestLostBuildClaimStopsTheBuild(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		h := newHarness(t, st, "ADE_WORKER_LEASE_SECONDS=3")
		python := h.fakeEngine("python", `echo $$ > "$DIR/build.pid"
exec sleep 300`)
		h.settings = append(h.settings, "ADE_WORKER_PYTHON="+python)
		h.enqueue("members.csv", nil)
		wr := h.start(h.worker())
		h.waitFor("the build to start", h.exists("build.pid"))
		pid := readPid(t, filepath.Join(h.dir, "build.pid"))
		env := h.onlyEnvironment()
		if env.Status != "building" || env.ClaimedBy.String != "worker-a" {
			t.Fatalf("environment row = %+v; want building, claimed by worker-a", env)
		}
		if n := h.exec("steal_environment", sql.Named("id", env.ID), sql.Named("worker_id", "worker-thief")); n != 1 {
			t.Fatalf("steal environment changed %d rows", n)
		}
		stolen := h.environment(env.ID)
		h.waitFor("the build to be stopped", func() bool { return !alive(pid) })
		h.waitFor("the environment.lost event", func() bool {
			evs, _ := readEvents(h.environmentPaths(env).Events)
			return len(named(evs, "environment.lost")) == 1
		})
		if err := wr.stop(t); err != nil {
			t.Fatalf("worker: %v", err)
		}
		if after := h.environment(env.ID); !reflect.DeepEqual(after, stolen) {
			t.Errorf("the old worker changed the row:\nstolen %+v\n after %+v", stolen, after)
		}
		got := workerEvents(h.environmentEvents(env), "environment.")
		if got[0] != "environment.start" || got[len(got)-1] != "environment.lost" ||
			slices.Contains(got, "environment.failed") || slices.Contains(got, "environment.released") {
			t.Errorf("environment events = %q; want environment.start ... environment.lost, nothing written", got)
		}
	})
}

// TestShutdownReleasesTheBuild stops a worker in the middle of an
// environment build, with no grace: the build is stopped and the
// environment goes back to the queue without spending its attempt; a second
// worker builds it and runs the waiting run.
func TestShutdownReleasesTheBuild(t *testing.T) {
	t.Parallel()
	r := referenceEnvironment(t)
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		h := newHarness(t, st, "ADE_WORKER_SHUTDOWN_GRACE_SECONDS=0")
		// The first build hangs; any later one makes a working venv.
		python := h.fakeEngine("python3", `if mkdir "$DIR/first" 2>/dev/null; then
  echo $$ > "$DIR/build.pid"
  exec sleep 300
fi
`+standInBuilder(r.interpreter()))
		h.settings = append(h.settings, "ADE_WORKER_PYTHON="+python)
		e := h.enqueue("members.csv", nil)
		wr := h.start(h.worker())
		h.waitFor("the build to start", h.exists("build.pid"))
		pid := readPid(t, filepath.Join(h.dir, "build.pid"))
		env := h.onlyEnvironment()
		if env.Status != "building" || env.AttemptCount != 1 {
			t.Fatalf("environment row = %+v; want building on attempt 1", env)
		}
		if err := wr.stop(t); err != nil {
			t.Fatalf("worker: %v", err)
		}
		if alive(pid) {
			t.Error("the build is still running after the worker stopped")
		}
		released := h.environment(env.ID)
		if released.Status != "queued" || released.AttemptCount != 0 || released.ClaimedBy.Valid || released.ClaimExpiresAt.Valid {
			t.Fatalf("released environment = %+v; want queued, attempt 0 (not spent), unclaimed", released)
		}
		if got := workerEvents(h.environmentEvents(env), "environment."); got[len(got)-1] != "environment.released" {
			t.Errorf("environment events = %q; want environment.released last", got)
		}
		if run := h.run(e.RunID); run.Status != "queued" || run.AttemptCount != 0 {
			t.Errorf("run row = %+v; want still queued, untouched", run)
		}

		h.drain(h.worker("ADE_WORKER_ID=worker-b"))
		built := h.environment(env.ID)
		if built.Status != "ready" || built.AttemptCount != 1 {
			t.Errorf("environment row = %+v; want ready after one counted build", built)
		}
		checkSucceeded(h, e.RunID, env.ID)
	})
}

// TestShutdownLetsRunsFinishWithinGrace stops a worker while a run is in
// flight and another is queued: the worker claims nothing more, lets the
// running one finish within the grace period and records it.
func TestShutdownLetsRunsFinishWithinGrace(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		h := newHarness(t, st, "ADE_WORKER_SHUTDOWN_GRACE_SECONDS=120", "ADE_WORKER_CONCURRENCY=1")
		first := h.enqueue("members.csv", nil)
		// The engine waits for the test's signal, then succeeds.
		engine := h.fakeEngine("engine", `echo $$ > "$DIR/engine.pid"
while [ ! -e "$DIR/finish" ]; do sleep 0.05; done
`+fakeSucceed)
		h.readyEnvironment(engine)
		wr := h.start(h.worker())
		h.waitFor("the engine to start", h.exists("engine.pid"))
		second := h.enqueue("members.csv", nil)

		stopped := make(chan error, 1)
		go func() { stopped <- wr.stop(t) }()
		// The worker is now waiting for its in-flight run; let it finish.
		time.Sleep(300 * time.Millisecond)
		select {
		case err := <-stopped:
			t.Fatalf("the worker stopped (%v) before its in-flight run finished", err)
		default:
		}
		writeFile(t, filepath.Join(h.dir, "finish"))
		select {
		case err := <-stopped:
			if err != nil {
				t.Fatalf("worker: %v", err)
			}
		case <-time.After(waitLimit):
			t.Fatal("the worker did not stop after its run finished")
		}
		if run := h.run(first.RunID); run.Status != "succeeded" || run.AttemptCount != 1 {
			t.Errorf("in-flight run = %+v; want succeeded within the grace period", run)
		}
		if run := h.run(second.RunID); run.Status != "queued" || run.AttemptCount != 0 || run.ClaimedBy.Valid {
			t.Errorf("queued run = %+v; a stopping worker must not claim it", run)
		}
		if n := len(h.calls("engine")); n != 1 {
			t.Errorf("the engine started %d times, want 1", n)
		}
	})
}

// TestReclaimedRunStopsTheEarlierJob puts a running run back in the queue
// (as an operator, or a sweep that judged its lease expired, would), so that
// the same worker claims it again at once. Both claims carry the same
// claimed_by, so the earlier job's heartbeats cannot tell its claim is gone:
// the worker must stop that job itself, before the new attempt starts, and
// only the new attempt may write the row.
func TestReclaimedRunStopsTheEarlierJob(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		// Heartbeats every 20 s: far later than the new claim.
		h := newHarness(t, st, "ADE_WORKER_LEASE_SECONDS=60")
		e := h.enqueue("members.csv", nil)
		// The first start hangs; a later one records whether the first is
		// still alive, then succeeds.
		engine := h.fakeEngine("engine", `if mkdir "$DIR/first" 2>/dev/null; then
  echo $$ > "$DIR/engine.pid"
  exec sleep 300
fi
if kill -0 "$(cat "$DIR/engine.pid")" 2>/dev/null; then echo overlap > "$DIR/overlap"; fi
`+fakeSucceed)
		h.readyEnvironment(engine)
		wr := h.start(h.worker())
		h.waitFor("the engine to start", h.exists("engine.pid"))
		pid := readPid(t, filepath.Join(h.dir, "engine.pid"))
		if n := h.exec("requeue_run", sql.Named("id", e.RunID)); n != 1 {
			t.Fatalf("requeue changed %d rows", n)
		}
		done := h.waitRun(e.RunID, "the run to succeed", func(r db.Run) bool { return r.Status == "succeeded" })
		if err := wr.stop(t); err != nil {
			t.Fatalf("worker: %v", err)
		}
		if _, err := os.Stat(filepath.Join(h.dir, "overlap")); err == nil {
			t.Error("the second attempt started while the first attempt's engine still ran")
		}
		if alive(pid) {
			t.Error("the first attempt's engine is still running")
		}
		if done.AttemptCount != 2 || done.ClaimedBy.String != "worker-a" || done.OutputPath.String != "output/normalized.csv" {
			t.Errorf("run row = %+v; want succeeded on attempt 2", done)
		}
		if after := h.run(e.RunID); !reflect.DeepEqual(after, done) {
			t.Errorf("the row changed after the run succeeded:\nthen %+v\n now %+v", done, after)
		}
		evs := h.runEvents(e.RunID)
		if got := workerEvents(evs, "run."); !slices.Equal(got, []string{
			"run.start", "run.engine.start", "run.lost",
			"run.start", "run.engine.start", "run.complete",
		}) {
			t.Errorf("worker events = %q", got)
		}
	})
}

// TestShutdownAfterALostClaim stops a worker whose run was taken over by
// another worker before a heartbeat could notice: the release at shutdown
// finds the claim gone, changes nothing, and does not claim in the run's
// events that the run was released.
func TestShutdownAfterALostClaim(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		h := newHarness(t, st, "ADE_WORKER_LEASE_SECONDS=60", "ADE_WORKER_SHUTDOWN_GRACE_SECONDS=0")
		e := h.enqueue("members.csv", nil)
		engine := h.fakeEngine("engine", `echo $$ > "$DIR/engine.pid"
exec sleep 300`)
		h.readyEnvironment(engine)
		wr := h.start(h.worker())
		h.waitFor("the engine to start", h.exists("engine.pid"))
		if n := h.exec("steal_run", sql.Named("id", e.RunID), sql.Named("worker_id", "worker-thief")); n != 1 {
			t.Fatalf("steal run changed %d rows", n)
		}
		stolen := h.run(e.RunID)
		if err := wr.stop(t); err != nil {
			t.Fatalf("worker: %v", err)
		}
		if after := h.run(e.RunID); !reflect.DeepEqual(after, stolen) {
			t.Errorf("the old worker changed the row:\nstolen %+v\n after %+v", stolen, after)
		}
		if got := workerEvents(h.runEvents(e.RunID), "run."); slices.Contains(got, "run.released") {
			t.Errorf("worker events = %q; the run was not released by this worker", got)
		}
	})
}

// TestShutdownKeepsAFinishedRun stops a worker whose engine finishes within
// the grace period, but whose output stays open past it (a process that left
// the engine's group still holds it): the engine was not stopped, so the
// run's real outcome is recorded rather than thrown away by a release.
func TestShutdownKeepsAFinishedRun(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		h := newHarness(t, st, "ADE_WORKER_SHUTDOWN_GRACE_SECONDS=2")
		e := h.enqueue("members.csv", nil)
		// Python's os.setsid: macOS has no setsid(1).
		engine := h.fakeEngine("engine", `python3 -c 'import os; os.setsid(); os.execvp("sleep", ["sleep", "30"])' &
echo $! > "$DIR/escaped.pid"
echo $$ > "$DIR/engine.pid"
sleep 0.2
`+fakeSucceed)
		t.Cleanup(func() {
			if b, err := os.ReadFile(filepath.Join(h.dir, "escaped.pid")); err == nil {
				var pid int
				if _, err := fmt.Sscan(string(b), &pid); err == nil && pid > 0 && alive(pid) {
					if p, err := os.FindProcess(pid); err == nil {
						_ = p.Kill()
					}
				}
			}
		})
		h.readyEnvironment(engine)
		wr := h.start(h.worker())
		h.waitFor("the engine to start", h.exists("engine.pid"))
		if err := wr.stop(t); err != nil {
			t.Fatalf("worker: %v", err)
		}
		run := h.run(e.RunID)
		if run.Status != "succeeded" || run.AttemptCount != 1 || run.OutputPath.String != "output/normalized.csv" {
			t.Errorf("run row = %+v; want succeeded: the engine finished before the grace ran out", run)
		}
		if got := workerEvents(h.runEvents(e.RunID), "run."); !slices.Equal(got, []string{"run.start", "run.engine.start", "run.complete"}) {
			t.Errorf("worker events = %q", got)
		}
	})
}

// TestHeartbeatsKeepALongRunClaimed runs an engine for longer than its
// lease: heartbeats every second move claim_expires_at on, again and again,
// so the sweep never takes the run back and its first attempt succeeds.
func TestHeartbeatsKeepALongRunClaimed(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		h := newHarness(t, st, "ADE_WORKER_LEASE_SECONDS=3")
		e := h.enqueue("members.csv", nil)
		engine := h.fakeEngine("slow-engine", "sleep 6\n"+fakeSucceed)
		h.readyEnvironment(engine)
		h.start(h.worker())

		seen := map[string]bool{}
		deadline := time.Now().Add(waitLimit)
		for time.Now().Before(deadline) {
			r := h.run(e.RunID)
			if r.Status != "queued" && r.Status != "running" {
				break
			}
			if r.Status == "running" && r.ClaimExpiresAt.Valid {
				seen[r.ClaimExpiresAt.Time.String()] = true
			}
			time.Sleep(100 * time.Millisecond)
		}
		r := h.run(e.RunID)
		if r.Status != "succeeded" || r.AttemptCount != 1 {
			t.Fatalf("run row = %+v; want succeeded on its first attempt", r)
		}
		// The claim's own expiry, then one per heartbeat (every second of
		// the 6 s engine).
		if len(seen) < 4 {
			t.Errorf("claim_expires_at took %d values while running; want the claim's and at least 3 heartbeats'", len(seen))
		}
	})
}
