package app

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/ade-dev/ade-worker/gen/db"
	"github.com/ade-dev/ade-worker/internal/config"
	"github.com/ade-dev/ade-worker/internal/enqueue"
	"github.com/ade-dev/ade-worker/internal/paths"
	"github.com/ade-dev/ade-worker/internal/store"
	"github.com/ade-dev/ade-worker/internal/store/storetest"
	"github.com/ade-dev/ade-worker/internal/version"
)

// metricsRig is one worker over a fresh SQLite database whose engines and
// builder are shell scripts standing in for Python, so every outcome a
// metric counts can be caused on purpose and fast.
type metricsRig struct {
	t       *testing.T
	st      *store.Store
	layout  paths.Layout
	dataDir string
	scripts string
	cfg     config.Config
	log     bytes.Buffer
}

func newMetricsRig(t *testing.T, settings ...string) *metricsRig {
	t.Helper()
	r := &metricsRig{t: t, st: storetest.SQLite(t), dataDir: filepath.Join(t.TempDir(), "data"), scripts: t.TempDir()}
	environ := append([]string{
		"ADE_WORKER_DATA_DIR=" + r.dataDir,
		"ADE_WORKER_ID=metrics-worker",
		"ADE_WORKER_ENABLE_GC=0",
		"ADE_WORKER_CONCURRENCY=2",
		"ADE_WORKER_POLL_INTERVAL=0.05",
		"ADE_WORKER_POLL_INTERVAL_MAX=0.2",
		"ADE_WORKER_CLEANUP_INTERVAL=0.2",
		"ADE_WORKER_BACKOFF_BASE_SECONDS=0.1",
		"ADE_WORKER_BACKOFF_MAX_SECONDS=0.2",
		"ADE_WORKER_SHUTDOWN_GRACE_SECONDS=5",
	}, settings...)
	cfg, err := config.Load(environ)
	if err != nil {
		t.Fatal(err)
	}
	r.cfg = cfg
	if r.layout, err = paths.New(r.dataDir); err != nil {
		t.Fatal(err)
	}
	return r
}

// script writes an executable shell script and returns its path.
func (r *metricsRig) script(name, body string) string {
	r.t.Helper()
	if runtime.GOOS == "windows" {
		r.t.Skip("the fake engines are shell scripts, which Windows does not run as programs")
	}
	p := filepath.Join(r.scripts, name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		r.t.Fatal(err)
	}
	return p
}

// enqueue queues a run of a configuration package of its own (named
// cfgName, so each name gets its own environment).
func (r *metricsRig) enqueue(cfgName, options string, maxAttempts int) string {
	r.t.Helper()
	cfgDir := filepath.Join(r.scripts, "config-"+cfgName)
	if err := os.MkdirAll(cfgDir, 0o755); err != nil {
		r.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cfgDir, "pyproject.toml"), []byte("[project]\nname = \""+cfgName+"\"\n"), 0o644); err != nil {
		r.t.Fatal(err)
	}
	input := filepath.Join(r.scripts, "input.csv")
	if err := os.WriteFile(input, []byte("a,b\n1,2\n"), 0o644); err != nil {
		r.t.Fatal(err)
	}
	e, err := enqueue.Insert(context.Background(), r.st, r.layout, enqueue.Request{EngineSpec: "ade-engine", MaxAttempts: 3},
		enqueue.Request{WorkspaceID: "ws-metrics", ConfigDir: cfgDir, InputFile: input, Options: options, MaxAttempts: maxAttempts})
	if err != nil {
		r.t.Fatal(err)
	}
	return e.RunID
}

// ready creates the one queued environment and marks it ready with
// interpreter as its Python, as if a worker had built it.
func (r *metricsRig) ready(interpreter string) {
	r.t.Helper()
	ctx := context.Background()
	err := r.st.Write(ctx, func(q *db.Queries) error {
		if _, err := q.EnsureEnvironments(ctx, nil); err != nil {
			return err
		}
		env, err := q.ClaimEnvironment(ctx, db.ClaimEnvironmentParams{WorkerID: nsv("setup"), LeaseSeconds: 60})
		if err != nil {
			return err
		}
		_, err = q.MarkEnvironmentReady(ctx, db.MarkEnvironmentReadyParams{
			PythonVersion: nsv("3"), PythonInterpreter: nsv(interpreter), EngineVersion: nsv("stand-in"),
			ID: env.ID, WorkerID: nsv("setup"), AttemptCount: env.AttemptCount,
		})
		return err
	})
	if err != nil {
		r.t.Fatalf("mark an environment ready: %v", err)
	}
}

func (r *metricsRig) run(id string) db.Run {
	r.t.Helper()
	run, err := r.st.Queries().GetRun(context.Background(), id)
	if err != nil {
		r.t.Fatal(err)
	}
	return run
}

func (r *metricsRig) waitRun(id, status string) {
	r.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for r.run(id).Status != status {
		if time.Now().After(deadline) {
			r.t.Fatalf("run %s: status %s, want %s; worker log:\n%s", id, r.run(id).Status, status, r.log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func counter(c prometheus.Collector) float64 { return testutil.ToFloat64(c) }

// histogramCount is how many observations a histogram holds.
func histogramCount(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) uint64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if labels[lp.GetName()] != lp.GetValue() {
					continue next
				}
			}
			return m.GetHistogram().GetSampleCount()
		}
	}
	return 0
}

// TestMetricsFollowTheJobs drives one worker through every outcome a
// metric counts and checks each series moved by exactly what happened:
// a run that succeeds, one that fails, is retried and fails for good, one
// whose claim is taken away while its engine runs, one whose previous
// worker died (an expired lease), and an environment whose build fails,
// is retried and fails for good.
func TestMetricsFollowTheJobs(t *testing.T) {
	r := newMetricsRig(t, "ADE_WORKER_LEASE_SECONDS=3", "ADE_WORKER_ENV_BUILD_MAX_ATTEMPTS=2")
	r.cfg.Python = r.script("no-python", "echo 'no python here' >&2; exit 1")
	failing := r.script("engine-fails", "echo 'engine broke' >&2; exit 3")
	sleeping := r.script("engine-sleeps", "exec sleep 60")
	ctx := context.Background()

	// A run claimed by a worker that then died: its lease runs out.
	orphan := r.enqueue("dry", `{"dry_run": true}`, 3)
	r.ready(failing) // a dry run never starts it
	if err := r.st.Write(ctx, func(q *db.Queries) error {
		_, err := q.ClaimRun(ctx, db.ClaimRunParams{WorkerID: nsv("dead-worker"), LeaseSeconds: 0.2})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	dry := r.enqueue("dry", `{"dry_run": true}`, 3)
	fails := r.enqueue("fails", "", 2)
	r.ready(failing)
	slow := r.enqueue("slow", "", 1)
	r.ready(sleeping)
	unbuildable := r.enqueue("unbuildable", "", 3)
	time.Sleep(300 * time.Millisecond) // the orphan's lease is over

	m := NewMetrics()
	w, err := New(r.cfg, r.st, Options{Logger: slog.New(slog.NewTextHandler(&r.log, nil)), Metrics: m, Environ: []string{"PATH=" + os.Getenv("PATH")}})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(runCtx, RunOptions{}) }()
	stopped := false
	defer func() {
		if !stopped {
			stop()
			<-done
		}
	}()

	r.waitRun(orphan, "succeeded")
	r.waitRun(dry, "succeeded")
	r.waitRun(fails, "failed")
	r.waitRun(unbuildable, "failed")
	r.waitRun(slow, "running")

	// Another party takes the slow run's claim (here: a sweep that thinks
	// its lease is long over). The next heartbeat finds the claim gone.
	if err := r.st.Write(ctx, func(q *db.Queries) error {
		_, err := q.ExpireRunLeases(ctx, db.ExpireRunLeasesParams{Now: time.Now().UTC().Add(time.Hour).Format("2006-01-02 15:04:05.000000"), BackoffMaxSeconds: 1, BackoffBaseSeconds: 1})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for counter(m.RunsFinished.WithLabelValues("lost")) < 1 || counter(m.SlotsInUse) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the lost claim was not counted; worker log:\n%s", r.log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	stopped = true

	reg := m.Registry
	for name, c := range map[string]struct {
		got  prometheus.Collector
		want float64
	}{
		// orphan (its second attempt), dry, fails twice, slow.
		"runs claimed":               {m.RunsClaimed, 5},
		"runs succeeded":             {m.RunsFinished.WithLabelValues("succeeded"), 2},
		"runs retried":               {m.RunsFinished.WithLabelValues("retried"), 1},
		"runs failed":                {m.RunsFinished.WithLabelValues("failed"), 1},
		"runs lost":                  {m.RunsFinished.WithLabelValues("lost"), 1},
		"runs released":              {m.RunsFinished.WithLabelValues("released"), 0},
		"lost run claims":            {m.LostClaims.WithLabelValues("run"), 1},
		"lost environment claims":    {m.LostClaims.WithLabelValues("environment"), 0},
		"run lease expiries":         {m.LeaseExpiries.WithLabelValues("run"), 1},
		"environment lease expiries": {m.LeaseExpiries.WithLabelValues("environment"), 0},
		"environment builds retried": {m.EnvBuilds.WithLabelValues("retried"), 1},
		"environment builds failed":  {m.EnvBuilds.WithLabelValues("failed"), 1},
		"environment builds ready":   {m.EnvBuilds.WithLabelValues("ready"), 0},
		"heartbeat errors":           {m.HeartbeatErrors, 0},
		"loop errors":                {m.LoopErrors, 0},
		"slots":                      {m.Slots, 2},
		"slots in use":               {m.SlotsInUse, 0},
	} {
		if got := counter(c.got); got != c.want {
			t.Errorf("%s = %v, want %v", name, got, c.want)
		}
	}
	for outcome, want := range map[string]uint64{"succeeded": 2, "retried": 1, "failed": 1, "lost": 0} {
		if got := histogramCount(t, reg, "ade_worker_run_duration_seconds", map[string]string{"outcome": outcome}); got != want {
			t.Errorf("run duration observations for %s = %d, want %d", outcome, got, want)
		}
	}
	if got := histogramCount(t, reg, "ade_worker_environment_build_duration_seconds", nil); got != 2 {
		t.Errorf("environment build duration observations = %d, want 2", got)
	}
	// Every claim transaction is timed, those that found nothing too.
	if got := histogramCount(t, reg, "ade_worker_claim_duration_seconds", nil); got < 8 {
		t.Errorf("claim latency observations = %d, want at least the 7 claims and an empty one", got)
	}
	// Every run has finished and every environment is built or failed:
	// that is history, and the live queue is empty.
	w.sampleQueue(ctx)
	wantQueue(t, m, 0, 0, 0, 0)
	// Two runs wait for an environment that is being built, and one runs.
	r.enqueue("later", "", 1)
	r.enqueue("later", "", 1)
	dryAgain := r.enqueue("dry", `{"dry_run": true}`, 1)
	if err := r.st.Write(ctx, func(q *db.Queries) error {
		if _, err := q.EnsureEnvironments(ctx, nil); err != nil {
			return err
		}
		if _, err := q.ClaimEnvironment(ctx, db.ClaimEnvironmentParams{WorkerID: nsv("builder"), LeaseSeconds: 60}); err != nil {
			return err
		}
		run, err := q.ClaimRun(ctx, db.ClaimRunParams{WorkerID: nsv("runner"), LeaseSeconds: 60})
		if err == nil && run.ID != dryAgain {
			t.Errorf("claimed run %s, want %s", run.ID, dryAgain)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	w.sampleQueue(ctx)
	wantQueue(t, m, 2, 1, 0, 1)
	if ts := counter(m.LastLoopTimestamp); ts < float64(time.Now().Add(-time.Minute).Unix()) {
		t.Errorf("last loop timestamp %v", ts)
	}
	if !strings.Contains(r.log.String(), "claim lost") {
		t.Errorf("the lost claim was not logged:\n%s", r.log.String())
	}
}

// wantQueue checks ade_worker_queue_depth: exactly the four live series,
// with these values.
func wantQueue(t *testing.T, m *Metrics, runsQueued, runsRunning, envsQueued, envsBuilding float64) {
	t.Helper()
	if n := testutil.CollectAndCount(m.QueueDepth); n != 4 {
		t.Errorf("queue depth has %d series, want the 4 live ones", n)
	}
	for _, c := range []struct {
		table, status string
		want          float64
	}{{"runs", "queued", runsQueued}, {"runs", "running", runsRunning}, {"environments", "queued", envsQueued}, {"environments", "building", envsBuilding}} {
		if got := counter(m.QueueDepth.WithLabelValues(c.table, c.status)); got != c.want {
			t.Errorf("queue depth %s %s = %v, want %v", c.table, c.status, got, c.want)
		}
	}
}

func TestBuildInfoMetric(t *testing.T) {
	m := NewMetrics()
	v := version.Get()
	want := fmt.Sprintf(`
# HELP ade_worker_build_info %s
# TYPE ade_worker_build_info gauge
ade_worker_build_info{go_version=%q,revision=%q,version=%q} 1
`, "Always 1; its labels say which build runs: module version, commit (+dirty when built from a changed tree, unknown when not recorded) and Go version.",
		v.GoVersion, v.RevisionLabel(), v.Version)
	if err := testutil.GatherAndCompare(m.Registry, strings.NewReader(want), "ade_worker_build_info"); err != nil {
		t.Error(err)
	}
}

// The README's table of series is what an operator builds dashboards
// from: every series the worker registers is in it, and nothing else.
func TestREADMEListsEverySeries(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for _, line := range strings.Split(string(b), "\n") {
		if cells := strings.Split(line, "|"); len(cells) > 2 && strings.Contains(cells[1], "`ade_worker_") {
			for _, name := range strings.Split(cells[1], ",") {
				documented[strings.Trim(strings.TrimSpace(name), "`")] = true
			}
		}
	}
	for _, name := range seriesNames(t) {
		if !documented[name] {
			t.Errorf("README's metrics table lacks %s", name)
		}
		delete(documented, name)
	}
	for name := range documented {
		t.Errorf("README documents %s, which the worker does not serve", name)
	}
}

var fqName = regexp.MustCompile(`fqName: "(ade_worker_[a-z_]+)"`)

// seriesNames are the ade_worker_ series a worker registers, labelled ones
// included before any sample exists: a vector's description names it.
func seriesNames(t *testing.T) []string {
	t.Helper()
	m := NewMetrics()
	m.countStatements(storetest.SQLite(t))
	descs := make(chan *prometheus.Desc, 100)
	go func() {
		v := reflect.ValueOf(m).Elem()
		for i := range v.NumField() {
			if c, ok := v.Field(i).Interface().(prometheus.Collector); ok {
				c.Describe(descs)
			}
		}
		close(descs)
	}()
	seen := map[string]bool{}
	for d := range descs {
		if f := fqName.FindStringSubmatch(d.String()); f != nil {
			seen[f[1]] = true
		}
	}
	mfs, err := m.Registry.Gather() // series registered outside the struct
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if strings.HasPrefix(mf.GetName(), "ade_worker_") {
			seen[mf.GetName()] = true
		}
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(names) < 18 {
		t.Fatalf("found only %d series: %v", len(names), names)
	}
	return names
}
