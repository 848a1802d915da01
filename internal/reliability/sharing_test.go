//go:build unix

package reliability

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "embed"
)

// The tests of this file share the worker's SQLite file with other
// processes the way a development machine does: the API (played by
// Python's sqlite3, the C library), short-lived commands, other workers
// that stop cleanly or are killed, and a readiness probe. Each ends with
// every run succeeded and its results written once, the file intact, and
// the WAL never deleted under a worker that was using it.

//go:embed testdata/results_per_run.sql
var resultsPerRunSQL string

// TestForeignClientSharesTheFile: while one worker processes runs, a
// Python client queues 150 of them, opening and closing its own connection
// for each; `ade-worker status` runs beside it, and a second worker starts
// and stops cleanly twice. Each of those closes a last connection, which
// is when SQLite deletes the WAL if it believes it is alone.
func TestForeignClientSharesTheFile(t *testing.T) {
	f := newFixture(t)
	const cfg = "cfg-foreign"
	f.configPackage(testWorkspace, cfg, "ok")
	f.readyEnvironment(testWorkspace, cfg)
	f.keepNoConnection()
	w := f.startWorker("sharer-1")
	f.waitFor(30*time.Second, "the worker to start", func() bool { return w.logged("worker started", nil) })
	wal := watchWAL(t, f.dbPath)

	api := f.apiClient(cfg, 150, 10*time.Millisecond, 3)
	for i := range 2 {
		f.waitFor(time.Minute, "the API client to queue more runs", func() bool { return len(api.queued()) >= 50*(i+1) })
		status := f.startCommand(fmt.Sprintf("status-%d", i), []string{"status"})
		if code := status.wait(t, time.Minute); code != 0 {
			t.Fatalf("ade-worker status exited %d:\n%s", code, status.tail(20))
		}
		second := f.startWorker(fmt.Sprintf("sharer-2-%d", i))
		f.waitFor(30*time.Second, "the second worker to start", func() bool { return second.logged("worker started", nil) })
		time.Sleep(300 * time.Millisecond)
		second.stop(t)
	}
	ids := api.wait(t)
	f.waitTerminal(2*time.Minute, ids...)
	checkWorkerFiles(t, w, f.dbPath)
	// Before the worker stops: the last process to close the file deletes
	// the WAL, as it should.
	wal.check(t)
	w.stop(t)
	f.checkSharedOutcome(ids)
}

// TestWorkersShareTheFileThroughRestarts: three workers share the file
// while a Python client queues runs; one worker is stopped every couple of
// seconds, by SIGTERM and SIGKILL in turn, and started again, and another
// one's /readyz is asked ten times a second throughout.
func TestWorkersShareTheFileThroughRestarts(t *testing.T) {
	if testing.Short() {
		t.Skip("runs three workers and a client for about half a minute")
	}
	f := newFixture(t)
	const cfg = "cfg-restarts"
	f.configPackage(testWorkspace, cfg, "sleep 0.2")
	f.readyEnvironment(testWorkspace, cfg)
	f.keepNoConnection()
	steady := f.startWorker("steady-1", "ADE_WORKER_HTTP_ADDR=127.0.0.1:0")
	f.startWorker("steady-2")
	f.waitFor(30*time.Second, "the first worker to serve HTTP", func() bool { return steady.logged("serving /metrics, /healthz and /readyz", nil) })
	probe := pollReadyz(t, "http://"+steady.httpAddr(t)+"/readyz", 100*time.Millisecond)
	wal := watchWAL(t, f.dbPath)

	api := f.apiClient(cfg, 200, 50*time.Millisecond, 20)
	var restarts, kills int
	for api.running() {
		w := f.startWorker(fmt.Sprintf("restarted-%d", restarts))
		time.Sleep(2 * time.Second)
		if restarts%2 == 0 {
			w.stop(t)
		} else {
			w.signal(syscall.SIGKILL)
			w.wait(t, 30*time.Second)
			kills++
		}
		restarts++
	}
	ids := api.wait(t)
	f.waitTerminal(3*time.Minute, ids...)
	t.Logf("%d runs; the third worker was stopped %d times (%d by SIGKILL)", len(ids), restarts, kills)
	checkWorkerFiles(t, steady, f.dbPath)
	answers, failures := probe.stop()
	if answers < 50 || len(failures) > 0 {
		t.Errorf("/readyz answered %d times, %d of them not 200: %v", answers, len(failures), failures)
	}
	wal.check(t)
	f.stopAll()
	f.checkSharedOutcome(ids)
}

// keepNoConnection makes the test's own store close each connection after
// use: a connection it kept open would hold a shared lock on the file and
// hide a worker that lost its own (nobody else could then believe itself
// the last user). Between its queries the test is one more client that
// opens and closes the file.
func (f *fixture) keepNoConnection() { f.st.DB().SetMaxIdleConns(0) }

// checkSharedOutcome checks that every run succeeded with its results
// written once (fakepython's summary has one field and one table column),
// that no two executions of a run overlapped, and that the file is intact
// as the C library reads it.
func (f *fixture) checkSharedOutcome(ids []string) {
	f.t.Helper()
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	rows, err := f.st.DB().QueryContext(f.ctx(), resultsPerRunSQL)
	if err != nil {
		f.t.Fatal(err)
	}
	defer rows.Close()
	seen := 0
	for rows.Next() {
		var id, status string
		var metrics, fields, columns int
		if err := rows.Scan(&id, &status, &metrics, &fields, &columns); err != nil {
			f.t.Fatal(err)
		}
		if !want[id] {
			continue
		}
		seen++
		if status != "succeeded" || metrics != 1 || fields != 1 || columns != 1 {
			r := f.run(id)
			f.t.Errorf("run %s: %s (%q) after %d attempts, with %d metrics, %d fields, %d columns rows; want succeeded with 1 of each",
				id, status, r.ErrorMessage.String, r.AttemptCount, metrics, fields, columns)
		}
	}
	if err := rows.Err(); err != nil {
		f.t.Fatal(err)
	}
	if seen != len(ids) {
		f.t.Errorf("%d of the %d queued runs are in the database", seen, len(ids))
	}
	f.checkNoOverlap(ids)
	out, err := exec.Command(realPython(f.t), filepath.Join("testdata", "integrity_check.py"), f.dbPath).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "ok" {
		f.t.Errorf("integrity_check: %v\n%s", err, out)
	}
}

// apiClient is testdata/api_client.py running.
type apiClient struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	ids  []string
	done chan struct{}
	err  error
	errb strings.Builder
}

func (f *fixture) apiClient(cfg string, rounds int, pause time.Duration, maxAttempts int) *apiClient {
	f.t.Helper()
	c := &apiClient{done: make(chan struct{})}
	c.cmd = exec.Command(realPython(f.t), filepath.Join("testdata", "api_client.py"), f.dbPath, f.dataDir, testWorkspace, cfg,
		testEngineSpec, digestOf(cfg), itoa(rounds), fmt.Sprint(pause.Seconds()), itoa(maxAttempts))
	c.cmd.Stderr = &c.errb
	out, err := c.cmd.StdoutPipe()
	if err != nil {
		f.t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		f.t.Fatalf("start the API client: %v", err)
	}
	f.t.Cleanup(func() { _ = c.cmd.Process.Kill(); <-c.done })
	go func() {
		defer close(c.done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			c.mu.Lock()
			c.ids = append(c.ids, sc.Text())
			c.mu.Unlock()
		}
		_, _ = io.Copy(io.Discard, out)
		c.err = c.cmd.Wait()
	}()
	return c
}

func (c *apiClient) queued() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.ids...)
}

func (c *apiClient) running() bool {
	select {
	case <-c.done:
		return false
	default:
		return true
	}
}

// wait waits for the client to finish and returns the runs it queued.
func (c *apiClient) wait(t *testing.T) []string {
	t.Helper()
	select {
	case <-c.done:
	case <-time.After(3 * time.Minute):
		t.Fatal("the API client did not finish")
	}
	if c.err != nil {
		t.Fatalf("the API client failed: %v\n%s", c.err, c.errb.String())
	}
	return c.queued()
}

// walWatch samples the WAL file until check.
type walWatch struct {
	stopped chan struct{}
	done    chan struct{}
	samples int
	changes []string
}

// watchWAL notes every time the -wal file beside path is deleted (its
// link count drops to 0: a new one may well get the same inode number) or
// another file is at its path: while a worker has the database open,
// nothing may delete its WAL. The test holds the -wal open to see it:
// SQLite takes no POSIX lock on that file, so this descriptor costs the
// test process none.
func watchWAL(t *testing.T, path string) *walWatch {
	t.Helper()
	w := &walWatch{stopped: make(chan struct{}), done: make(chan struct{})}
	file, err := os.Open(path + "-wal")
	if err != nil {
		t.Fatalf("no WAL beside the database of a running worker: %v", err)
	}
	first, err := file.Stat()
	if err != nil {
		t.Fatal(err)
	}
	note := func(what string) { w.changes = append(w.changes, time.Now().Format(time.StampMicro)+": "+what) }
	go func() {
		defer close(w.done)
		defer file.Close()
		deleted := false
		for {
			select {
			case <-w.stopped:
				return
			case <-time.After(5 * time.Millisecond):
			}
			w.samples++
			if held, err := file.Stat(); err == nil && !deleted && held.Sys().(*syscall.Stat_t).Nlink == 0 {
				deleted = true
				note("the WAL the worker uses was deleted")
			}
			if now, err := os.Stat(path + "-wal"); err == nil && !os.SameFile(first, now) {
				note("another file is at the WAL's path")
				first = now
			}
		}
	}()
	return w
}

func (w *walWatch) check(t *testing.T) {
	t.Helper()
	close(w.stopped)
	<-w.done
	if len(w.changes) > 0 {
		t.Errorf("the WAL was deleted or replaced under the worker (%d samples): %v", w.samples, w.changes)
	}
}

// readyzPoller asks a /readyz URL at a fixed rate.
type readyzPoller struct {
	stopped  chan struct{}
	done     chan struct{}
	answers  atomic.Int64
	failures []string
}

func pollReadyz(t *testing.T, url string, every time.Duration) *readyzPoller {
	t.Helper()
	p := &readyzPoller{stopped: make(chan struct{}), done: make(chan struct{})}
	client := &http.Client{Timeout: 10 * time.Second}
	go func() {
		defer close(p.done)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-p.stopped:
				return
			case <-tick.C:
			}
			resp, err := client.Get(url)
			if err != nil {
				p.failures = append(p.failures, err.Error())
				continue
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			p.answers.Add(1)
			if resp.StatusCode != http.StatusOK {
				p.failures = append(p.failures, fmt.Sprintf("%d %s", resp.StatusCode, body))
			}
		}
	}()
	t.Cleanup(func() {
		select {
		case <-p.stopped:
		default:
			p.stop()
		}
	})
	return p
}

func (p *readyzPoller) stop() (answers int64, failures []string) {
	close(p.stopped)
	<-p.done
	return p.answers.Load(), p.failures
}

// httpAddr is the address the worker logged it serves HTTP on.
func (w *workerProc) httpAddr(t *testing.T) string {
	t.Helper()
	for _, m := range w.logs() {
		if m["msg"] == "serving /metrics, /healthz and /readyz" {
			if addr, ok := m["addr"].(string); ok {
				return addr
			}
		}
	}
	t.Fatalf("worker %s logged no HTTP address:\n%s", w.id, w.tail(20))
	return ""
}
