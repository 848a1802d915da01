package main

import (
	"bufio"
	"bytes"
	"context"
	"debug/buildinfo"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ade-dev/ade-worker/internal/version"
)

// The tests here start the real binary, built once per test run.
var (
	buildOnce sync.Once
	binDir    string
	binPath   string
	binErr    error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// workerBinary builds cmd/ade-worker with `go build` the first time a test
// needs the process.
func workerBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "ade-worker-bin-")
		if binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "ade-worker")
		if runtime.GOOS == "windows" {
			binPath += ".exe"
		}
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// proc is a running worker process whose stderr is collected line by line.
type proc struct {
	t    *testing.T
	cmd  *exec.Cmd
	mu   sync.Mutex
	log  []string
	done chan struct{}
	err  error
}

func startWorker(t *testing.T, environ []string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(workerBinary(t), args...)
	cmd.Env = environ
	cmd.Dir = t.TempDir()
	ownProcessGroup(cmd)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{t: t, cmd: cmd, done: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			p.mu.Lock()
			p.log = append(p.log, sc.Text())
			p.mu.Unlock()
		}
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("worker log:\n%s", strings.Join(p.lines(), "\n"))
		}
	})
	return p
}

func (p *proc) lines() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.log...)
}

// records are the JSON log lines so far.
func (p *proc) records() []map[string]any {
	var out []map[string]any
	for _, l := range p.lines() {
		var rec map[string]any
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			p.t.Errorf("log line is not JSON: %q", l)
			continue
		}
		out = append(out, rec)
	}
	return out
}

// waitRecord waits for a JSON log record with msg.
func (p *proc) waitRecord(msg string, timeout time.Duration) map[string]any {
	p.t.Helper()
	var found map[string]any
	eventually(p.t, timeout, "log line "+strconv.Quote(msg), func() bool {
		for _, rec := range p.records() {
			if rec["msg"] == msg {
				found = rec
				return true
			}
		}
		return false
	})
	return found
}

// stop asks the worker to stop (askToStop) and returns the exit code.
func (p *proc) stop(timeout time.Duration) int {
	p.t.Helper()
	if err := askToStop(p.cmd); err != nil {
		p.t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(timeout):
		p.t.Fatalf("the worker did not stop within %s of the stop signal", timeout)
	}
	return p.cmd.ProcessState.ExitCode()
}

// eventually polls cond until it holds or timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	client := http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp.StatusCode, string(b)
}

// metric is the value of the sample named exactly series (name and
// labels as Prometheus prints them), or -1 when there is none.
func metric(body, series string) float64 {
	for _, line := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err == nil {
				return f
			}
		}
	}
	return -1
}

// TestWorkerProcessServesMetricsAndProbes starts the binary with an HTTP
// address, lets it process a dry run, and checks what /metrics, /healthz
// and /readyz report, including while the database file is gone.
func TestWorkerProcessServesMetricsAndProbes(t *testing.T) {
	f := newFixture(t)
	f.mustMain("migrate", "up")
	e := f.enqueue("--options", `{"dry_run": true}`)
	// A dry run invokes no engine, but is claimed only once its
	// environment is ready; mark it ready instead of building a venv.
	envID := readyEnvironment(t, f.store(), python(t))

	p := startWorker(t, f.with(
		"ADE_WORKER_HTTP_ADDR=127.0.0.1:0",
		"ADE_WORKER_ID=cli-test-worker",
		"ADE_WORKER_LOG_FORMAT=json",
		"ADE_WORKER_LOG_LEVEL=DEBUG",
		"ADE_WORKER_CONCURRENCY=2",
		"ADE_WORKER_POLL_INTERVAL=0.1",
		"ADE_WORKER_POLL_INTERVAL_MAX=0.5",
		"ADE_WORKER_SHUTDOWN_GRACE_SECONDS=20",
	), "run")

	serving := p.waitRecord("serving /metrics, /healthz and /readyz", time.Minute)
	addr, _ := serving["addr"].(string)
	if !strings.HasPrefix(addr, "127.0.0.1:") || strings.HasSuffix(addr, ":0") {
		t.Fatalf("serving on %q", addr)
	}
	base := "http://" + addr

	// The start-up line lists the effective settings.
	start := p.waitRecord("effective settings", time.Second)
	if bi, err := buildinfo.ReadFile(workerBinary(t)); err != nil || start["version"] != version.FromBuildInfo(bi).Version ||
		start["revision"] != version.FromBuildInfo(bi).RevisionLabel() || start["go_version"] != bi.GoVersion {
		t.Errorf("the start-up line does not name the build: %v (%v)", start, err)
	}
	settings := start["settings"].(map[string]any)
	if settings["ADE_WORKER_ID"] != "cli-test-worker" || settings["ADE_DATABASE_URL"] != f.dbURL || settings["ADE_WORKER_CONCURRENCY"] != float64(2) {
		t.Errorf("effective settings: %v", settings)
	}

	p.waitRecord("run succeeded", time.Minute)
	run, err := f.store().Queries().GetRun(context.Background(), e.RunID)
	if err != nil || run.Status != "succeeded" || run.ClaimedBy.String != "cli-test-worker" || run.AttemptCount != 1 {
		t.Fatalf("run row after the worker: %+v %v", run, err)
	}

	var body string
	eventually(t, 30*time.Second, "/metrics to count the run", func() bool {
		_, body = get(t, base+"/metrics")
		return metric(body, `ade_worker_runs_finished_total{outcome="succeeded"}`) == 1
	})
	for series, want := range map[string]float64{
		`ade_worker_runs_claimed_total`:                              1,
		`ade_worker_runs_finished_total{outcome="succeeded"}`:        1,
		`ade_worker_run_duration_seconds_count{outcome="succeeded"}`: 1,
		`ade_worker_slots`:        2,
		`ade_worker_slots_in_use`: 0,
		`ade_worker_queue_depth{status="queued",table="runs"}`:           1, // sampled at start, before the claim
		`ade_worker_queue_depth{status="running",table="runs"}`:          0,
		`ade_worker_queue_depth{status="building",table="environments"}`: 0,
		`ade_worker_queue_depth{status="succeeded",table="runs"}`:        -1, // history, not queue
		`ade_worker_queue_depth{status="ready",table="environments"}`:    -1,
		buildInfoSeries(t):                                                      1,
		`ade_worker_lost_claims_total{kind="run"}`:                              -1, // never lost
		`ade_worker_runs_finished_total{outcome="failed"}`:                      -1,
		`ade_worker_environment_builds_total{outcome="ready"}`:                  -1, // made ready by the test
		`ade_worker_heartbeat_errors_total`:                                     0,
		`ade_worker_loop_errors_total`:                                          0,
		`ade_worker_lease_expiries_total{kind="run"}`:                           -1,
		`ade_worker_environment_build_duration_seconds_count`:                   0,
		`ade_worker_run_duration_seconds_bucket{outcome="succeeded",le="+Inf"}`: 1,
	} {
		if got := metric(body, series); got != want {
			t.Errorf("%s = %v, want %v", series, got, want)
		}
	}
	if n := metric(body, "ade_worker_claim_duration_seconds_count"); n < 2 {
		t.Errorf("claim latency observed %v times; the worker claimed at least once and then found nothing", n)
	}
	if ts := metric(body, "ade_worker_loop_last_iteration_timestamp_seconds"); ts < float64(time.Now().Add(-time.Minute).Unix()) {
		t.Errorf("last loop iteration at %v", ts)
	}

	if code, body := get(t, base+"/healthz"); code != 200 || !strings.Contains(body, `"ok":true`) {
		t.Errorf("/healthz = %d %s", code, body)
	}
	if code, body := get(t, base+"/readyz"); code != 200 || !strings.Contains(body, `"ok":true`) {
		t.Errorf("/readyz = %d %s", code, body)
	}

	// The database file goes away: the worker's pooled connections still
	// hold it open, but /readyz must say the database is not there.
	away := f.dbPath + ".away"
	if err := os.Rename(f.dbPath, away); err != nil {
		t.Fatal(err)
	}
	moved := true
	t.Cleanup(func() {
		if moved {
			_ = os.Rename(away, f.dbPath)
		}
	})
	readyz := func(want int) string {
		t.Helper()
		var body string
		eventually(t, 30*time.Second, fmt.Sprintf("/readyz to answer %d", want), func() bool {
			var code int
			code, body = get(t, base+"/readyz")
			return code == want
		})
		return body
	}
	if body := readyz(503); !strings.Contains(body, `"ok":false`) || !strings.Contains(body, "database not ready") {
		t.Errorf("/readyz without the database file: %s", body)
	}
	// Garbage where the database was is not a database either. It is put
	// there whole, by a rename: a connection that found an empty file at
	// the path would take it for a new database, and adopt the moved one's
	// -wal as its own.
	garbage := f.dbPath + ".garbage"
	if err := os.WriteFile(garbage, bytes.Repeat([]byte("not a database "), 512), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(garbage, f.dbPath); err != nil {
		t.Fatal(err)
	}
	if body := readyz(503); !strings.Contains(body, "database not ready") {
		t.Errorf("/readyz with garbage at the database path: %s", body)
	}
	// The liveness probe is about the loop, not the database.
	if code, body := get(t, base+"/healthz"); code != 200 {
		t.Errorf("/healthz while the database is gone = %d %s", code, body)
	}
	if err := os.Rename(away, f.dbPath); err != nil {
		t.Fatal(err)
	}
	moved = false
	readyz(200)

	if code := p.stop(time.Minute); code != 0 {
		t.Errorf("exit code after SIGTERM = %d", code)
	}

	// Every line about the run or its environment names the worker and
	// the job.
	var started, succeeded bool
	for _, rec := range p.records() {
		line, _ := json.Marshal(rec)
		if !bytes.Contains(line, []byte(e.RunID)) && !bytes.Contains(line, []byte(envID)) {
			continue
		}
		if rec["worker_id"] != "cli-test-worker" {
			t.Errorf("job log line without worker_id: %s", line)
		}
		if rec["run_id"] == nil && rec["environment_id"] == nil {
			t.Errorf("job log line without run_id or environment_id: %s", line)
		}
		if rec["run_id"] == e.RunID && rec["environment_id"] != envID {
			t.Errorf("run log line without its environment_id: %s", line)
		}
		started = started || (rec["msg"] == "run started" && rec["run_id"] == e.RunID)
		succeeded = succeeded || (rec["msg"] == "run succeeded" && rec["run_id"] == e.RunID)
	}
	if !started || !succeeded {
		t.Errorf("the run's start (%v) and success (%v) were not logged with its id", started, succeeded)
	}
	if p.waitRecord("worker stopped", time.Second)["worker_id"] != "cli-test-worker" {
		t.Error("the stop line does not name the worker")
	}
}

// closedPort is a loopback port nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}

// TestUnreachableDatabaseNeverPrintsThePassword starts the binary against a
// SQL Server that is not there: it must stop at once with a clear error,
// and its password must appear nowhere in what it prints.
func TestUnreachableDatabaseNeverPrintsThePassword(t *testing.T) {
	bin := workerBinary(t)
	f := newFixture(t)
	port := closedPort(t)
	urls := []string{
		fmt.Sprintf("mssql://ade:hunter2@127.0.0.1:%d/ade?timeout=1", port),
		fmt.Sprintf("mssql+pyodbc://ade:hunter2@127.0.0.1:%d/ade?driver=ODBC+Driver+18+for+SQL+Server", port),
		fmt.Sprintf("sqlserver://ade:hunter2@127.0.0.1:%d?database=ade", port),
		// The ODBC form the API may be given, and a password with a
		// percent-encoded character.
		fmt.Sprintf("mssql+pyodbc:///?odbc_connect=DRIVER%%3D%%7BODBC+Driver+18+for+SQL+Server%%7D%%3BSERVER%%3D127.0.0.1%%2C%d%%3BDATABASE%%3Dade%%3BUID%%3Dade%%3BPWD%%3Dhunter2", port),
		fmt.Sprintf("mssql://ade:hun%%40ter2@127.0.0.1:%d/ade", port),
	}
	for _, u := range urls {
		for _, format := range []string{"text", "json"} {
			for _, args := range [][]string{{"run"}, {"migrate", "up"}, {"status", "--json"}} {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				cmd := exec.CommandContext(ctx, bin, args...)
				cmd.Env = f.with("ADE_DATABASE_URL="+u, "ADE_WORKER_LOG_FORMAT="+format, "ADE_DATABASE_POOL_TIMEOUT=20")
				cmd.Dir = t.TempDir()
				var stdout, stderr bytes.Buffer
				cmd.Stdout, cmd.Stderr = &stdout, &stderr
				err := cmd.Run()
				hung := ctx.Err() != nil
				cancel()
				what := fmt.Sprintf("%s %v (%s logs)", u, args, format)
				out := stdout.String() + stderr.String()
				if hung {
					t.Fatalf("%s: still running after 2 minutes:\n%s", what, out)
				}
				if code := cmd.ProcessState.ExitCode(); err == nil || code != exitFailure {
					t.Errorf("%s: exit %d (%v), want 1:\n%s", what, code, err, out)
				}
				if strings.Contains(out, "hunter2") || strings.Contains(out, "ter2") {
					t.Errorf("%s: the password was printed:\n%s", what, out)
				}
				if n := strings.Count(stderr.String(), "connect to database"); n != 1 {
					t.Errorf("%s: the connect error is printed %d times, want once:\n%s", what, n, out)
				}
				if !strings.Contains(stderr.String(), "ade-worker: connect to database") || !strings.Contains(stderr.String(), "ade:***@") ||
					!strings.Contains(stderr.String(), "127.0.0.1:"+strconv.Itoa(port)) {
					t.Errorf("%s: the error does not say which database could not be reached:\n%s", what, out)
				}
				if args[0] == "run" && (!strings.Contains(stderr.String(), "effective settings") || !strings.Contains(stderr.String(), "ADE_DATABASE_URL")) {
					t.Errorf("%s: no effective settings at start-up:\n%s", what, out)
				}
				if format == "json" {
					for _, line := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
						if strings.HasPrefix(line, "{") && !json.Valid([]byte(line)) {
							t.Errorf("%s: malformed JSON log line %q", what, line)
						}
					}
				}
			}
		}
	}
}

// TestVersionIsTheBinarysBuildInfo: `--version` and `version` print what
// the toolchain recorded in the binary (module version, commit, Go).
func TestVersionIsTheBinarysBuildInfo(t *testing.T) {
	bin := workerBinary(t)
	bi, err := buildinfo.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	want := version.FromBuildInfo(bi).String()
	for _, args := range [][]string{{"--version"}, {"-version"}, {"version"}} {
		out, err := exec.Command(bin, args...).Output()
		if err != nil || strings.TrimSpace(string(out)) != want {
			t.Errorf("ade-worker %v = %q, %v; want %q", args, out, err, want)
		}
	}
	if !strings.Contains(want, bi.GoVersion) || !strings.HasPrefix(want, "ade-worker "+bi.Main.Version+" (revision ") {
		t.Errorf("version line %q does not carry the build's %s and %s", want, bi.Main.Version, bi.GoVersion)
	}
}

// buildInfoSeries is the ade_worker_build_info sample the test binary must
// serve, from the build information the toolchain wrote into it.
func buildInfoSeries(t *testing.T) string {
	t.Helper()
	bi, err := buildinfo.ReadFile(workerBinary(t))
	if err != nil {
		t.Fatal(err)
	}
	v := version.FromBuildInfo(bi)
	return fmt.Sprintf("ade_worker_build_info{go_version=%q,revision=%q,version=%q}", v.GoVersion, v.RevisionLabel(), v.Version)
}
