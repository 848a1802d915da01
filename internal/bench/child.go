package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Metric names read from the worker's /metrics.
const (
	statementsMetric = "ade_worker_db_statements_total"
	cpuMetric        = "process_cpu_seconds_total"
	goroutinesMetric = "go_goroutines"
	heapMetric       = "go_memstats_heap_inuse_bytes"
)

// workerProc is the measured worker: the ade-worker binary running "run" as
// a child process, so its memory and its statements are its own and nothing
// of the harness is counted in them.
type workerProc struct {
	cmd     *exec.Cmd
	metrics string // http://127.0.0.1:port/metrics
	logFile *os.File
	done    chan struct{}
	waitErr error
}

// startWorker starts path "run" with environ in dir, its log in logPath,
// and waits until it serves /metrics.
func startWorker(ctx context.Context, path string, environ []string, dir, logPath string) (*workerProc, error) {
	port, err := freePort()
	if err != nil {
		return nil, fmt.Errorf("find a free port for the worker's metrics: %w", err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("create worker log: %w", err)
	}
	cmd := exec.Command(path, "run")
	cmd.Dir = dir
	cmd.Env = append(environ, "ADE_WORKER_HTTP_ADDR="+addr)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	// Its own process group: a Ctrl-C on the bench reaches the harness, which
	// stops the worker itself and reports.
	ownProcessGroup(cmd)
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start worker %s: %w", path, err)
	}
	w := &workerProc{cmd: cmd, metrics: "http://" + addr + "/metrics", logFile: logFile, done: make(chan struct{})}
	go func() { w.waitErr = cmd.Wait(); close(w.done) }()

	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := w.scrape(ctx); err == nil {
			return w, nil
		}
		select {
		case <-w.done:
			logFile.Close()
			return nil, fmt.Errorf("worker exited at start-up (%v); see %s", w.waitErr, logPath)
		case <-ctx.Done():
			w.kill()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			w.kill()
			return nil, fmt.Errorf("worker did not serve %s within 30s; see %s", w.metrics, logPath)
		}
	}
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// scrape reads the worker's Prometheus text into name -> value (series with
// labels are summed under their name).
func (w *workerProc) scrape(ctx context.Context) (map[string]float64, error) {
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, w.metrics, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", w.metrics, resp.Status)
	}
	return parseMetrics(resp.Body)
}

func parseMetrics(r io.Reader) (map[string]float64, error) {
	out := map[string]float64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		sp := strings.LastIndexByte(line, ' ')
		if sp < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[sp+1:], 64)
		if err != nil {
			continue
		}
		name := line[:sp]
		if i := strings.IndexByte(name, '{'); i >= 0 {
			name = name[:i]
		}
		out[name] += v
	}
	return out, sc.Err()
}

// rssSample is the worker's resident set at one instant.
type rssSample struct {
	at  time.Time
	kib int64
}

// sampleRSS records the worker's resident set every interval until stop is
// called.
func (w *workerProc) sampleRSS(interval time.Duration) (stop func() []rssSample) {
	var (
		mu      sync.Mutex
		samples []rssSample
	)
	quit := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			if rss, _, err := w.memory(); err == nil {
				mu.Lock()
				samples = append(samples, rssSample{time.Now(), rss})
				mu.Unlock()
			}
			select {
			case <-quit:
				return
			case <-t.C:
			}
		}
	}()
	return func() []rssSample {
		close(quit)
		<-done
		mu.Lock()
		defer mu.Unlock()
		return samples
	}
}

// stop asks the worker to stop gracefully (see askToStop) and waits for
// the exit, killing it after grace.
func (w *workerProc) stop(grace time.Duration) (exitCode int, err error) {
	defer w.logFile.Close()
	_ = w.askToStop()
	select {
	case <-w.done:
	case <-time.After(grace):
		w.kill()
		return -1, fmt.Errorf("worker did not stop within %s of the stop request; killed", grace)
	}
	if w.cmd.ProcessState == nil {
		return -1, w.waitErr
	}
	return w.cmd.ProcessState.ExitCode(), nil
}

func (w *workerProc) running() bool {
	select {
	case <-w.done:
		return false
	default:
		return true
	}
}
