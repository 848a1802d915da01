package bench

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestDistNearestRank(t *testing.T) {
	var sample []time.Duration
	for i := 100; i >= 1; i-- {
		sample = append(sample, time.Duration(i)*time.Millisecond)
	}
	d := distOf(sample)
	want := Dist{N: 100, Mean: 50.5, Min: 1, P50: 50, P95: 95, P99: 99, Max: 100}
	if d != want {
		t.Fatalf("distOf(1..100 ms) = %+v, want %+v", d, want)
	}
	if one := distOf([]time.Duration{7 * time.Millisecond}); one.P50 != 7 || one.P99 != 7 {
		t.Fatalf("a sample of one: %+v", one)
	}
	if empty := distOf(nil); empty != (Dist{}) {
		t.Fatalf("an empty sample: %+v", empty)
	}
}

func TestSlope(t *testing.T) {
	x := []float64{1, 2, 3, 4}
	if got := slope(x, []float64{3, 5, 7, 9}); got != 2 {
		t.Fatalf("slope of y = 2x+1 = %v, want 2", got)
	}
	if got := slope(x, []float64{5, 5, 5, 5}); got != 0 {
		t.Fatalf("slope of a flat line = %v, want 0", got)
	}
	if got := slope([]float64{2, 2}, []float64{1, 9}); got != 0 {
		t.Fatalf("slope over one x = %v, want 0", got)
	}
}

func TestParseMetrics(t *testing.T) {
	text := `# HELP ade_worker_db_statements_total Statements.
# TYPE ade_worker_db_statements_total counter
ade_worker_db_statements_total 1234
ade_worker_runs_finished_total{outcome="succeeded"} 10
ade_worker_runs_finished_total{outcome="failed"} 2
process_cpu_seconds_total 1.5e+00
go_goroutines 13
garbage line
`
	m, err := parseMetrics(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]float64{
		statementsMetric: 1234, "ade_worker_runs_finished_total": 12, cpuMetric: 1.5, goroutinesMetric: 13,
	} {
		if m[name] != want {
			t.Errorf("%s = %v, want %v", name, m[name], want)
		}
	}
}

func TestWorkerEnvironDropsTheOperatorsSettings(t *testing.T) {
	base := []string{"PATH=/usr/bin", "ADE_DATABASE_URL=mssql+pyodbc://prod", "ADE_WORKER_CONCURRENCY=8", "PIP_FIND_LINKS=/opt/wheels"}
	env := workerEnviron(base, map[string]string{"ADE_WORKER_CONCURRENCY": "2"})
	for _, kv := range env {
		if strings.Contains(kv, "prod") || kv == "ADE_WORKER_CONCURRENCY=8" {
			t.Errorf("operator setting leaked into the bench worker: %s", kv)
		}
	}
	if !slices.Contains(env, "ADE_WORKER_CONCURRENCY=2") || !slices.Contains(env, "PATH=/usr/bin") {
		t.Errorf("bench settings or PATH missing: %v", env)
	}
	if hasSystemWheels() {
		if !slices.Contains(env, "PIP_NO_INDEX=1") || !slices.Contains(env, "PIP_FIND_LINKS=/opt/wheels "+systemWheels) {
			t.Errorf("no package index configured: want pip offline with the system wheels added, got %v", env)
		}
	}
	// An operator who names an index keeps it.
	env = workerEnviron([]string{"PIP_INDEX_URL=https://pypi.example/simple"}, nil)
	if slices.Contains(env, "PIP_NO_INDEX=1") {
		t.Errorf("PIP_INDEX_URL set, yet pip was made offline: %v", env)
	}
}
