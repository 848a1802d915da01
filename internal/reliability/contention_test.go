//go:build unix

package reliability

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"
)

// TestContention: four worker processes share one SQLite file and process
// 300 runs of a fast engine. Every run succeeds, each on one attempt that
// left exactly one marker; no two executions of a run overlap; nothing is
// left running; and no SQLITE_BUSY reaches a run.
func TestContention(t *testing.T) {
	if testing.Short() {
		t.Skip("starts four workers and 300 engine processes")
	}
	f := newFixture(t)
	const runs = 300
	ids := f.simpleRuns("cfg-contention", "ok", runs)

	start := time.Now()
	workers := make([]*workerProc, 4)
	for i := range workers {
		workers[i] = f.startWorker(fmt.Sprintf("contender-%d", i+1))
	}
	f.waitTerminal(3*time.Minute, ids...)
	t.Logf("%d runs on %d workers in %s", runs, len(workers), time.Since(start).Round(time.Millisecond))

	for _, w := range workers {
		if !w.alive() {
			t.Fatalf("worker %s died:\n%s", w.id, w.tail(30))
		}
		w.stop(t)
	}

	perWorker := map[string]int{}
	attempts := map[string]int64{}
	for _, id := range ids {
		r := f.run(id)
		if r.Status != "succeeded" {
			t.Errorf("run %s: status %s, error %q", id, r.Status, r.ErrorMessage.String)
		}
		if r.ClaimExpiresAt.Valid {
			t.Errorf("run %s: lease still set after success", id)
		}
		if strings.Contains(strings.ToLower(r.ErrorMessage.String), "busy") || strings.Contains(r.ErrorMessage.String, "locked") {
			t.Errorf("run %s: database contention surfaced: %q", id, r.ErrorMessage.String)
		}
		attempts[id] = r.AttemptCount
		perWorker[r.ClaimedBy.String]++
	}
	t.Logf("runs per worker: %v", perWorker)

	// Markers: one per attempt, and no overlap within a run.
	f.checkNoOverlap(ids)
	byRun := f.executionsByRun()
	retried := 0
	for _, id := range ids {
		xs := byRun[id]
		if int64(len(xs)) != attempts[id] {
			t.Errorf("run %s: %d executions for attempt_count %d; worker log:\n%s", id, len(xs), attempts[id], grepLogs(workers, id))
		}
		if attempts[id] > 1 {
			retried++
		}
		for _, x := range xs {
			if !x.finished {
				t.Errorf("run %s: execution pid %d never finished", id, x.pid)
			}
		}
	}
	var walls []time.Duration
	for _, w := range workers {
		for _, m := range w.logs() {
			if d, ok := m["wall"].(float64); ok && m["msg"] == "run succeeded" {
				walls = append(walls, time.Duration(d))
			}
		}
	}
	if len(walls) > 0 {
		sort.Slice(walls, func(i, j int) bool { return walls[i] < walls[j] })
		t.Logf("run wall time (claim to ack): p50 %s, p90 %s, max %s", walls[len(walls)/2].Round(time.Millisecond),
			walls[len(walls)*9/10].Round(time.Millisecond), walls[len(walls)-1].Round(time.Millisecond))
	}
	if retried > 0 {
		t.Logf("%d runs took more than one attempt", retried)
	}
	counts, err := f.q.CountRunsByStatus(f.ctx())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range counts {
		if c.Status == "running" || c.Status == "queued" {
			t.Errorf("%d runs left %s", c.Count, c.Status)
		}
	}
	busy := 0
	for _, w := range workers {
		for _, line := range strings.Split(w.raw(), "\n") {
			if strings.Contains(line, "(SQLITE_BUSY") || strings.Contains(line, "database is locked") {
				busy++
				if busy <= 5 {
					t.Logf("%s: %s", w.id, line)
				}
			}
		}
	}
	if busy > 0 {
		t.Logf("%d log lines mention a busy database (retried, never a run failure)", busy)
	}
}
