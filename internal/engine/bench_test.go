package engine

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ade-dev/ade-worker/internal/eventlog"
)

// ndjsonGenerator prints at least argv[1] bytes of typical engine events,
// about 200 bytes each, as fast as Python can.
const ndjsonGenerator = `
import sys
line = '{"timestamp":"2024-05-01T12:00:00.123456Z","level":"info","event":"engine.table.detected","message":"table 3 on Sheet1","scope":"sheet","data":{"sheet":"Sheet1","table":3,"rows":1250,"columns":14}}\n'
block = (line * 5000).encode()
out = sys.stdout.buffer
for _ in range(-(-int(sys.argv[1]) // len(block))):
    out.write(block)
out.flush()
`

// pythonPath returns the real interpreter behind python3, so version-manager
// shims do not add their start-up to what is measured.
func pythonPath(tb testing.TB) string {
	tb.Helper()
	out, err := exec.Command("python3", "-c", "import sys; print(sys.executable)").Output()
	if err != nil {
		tb.Skipf("python3 is not available: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// BenchmarkEngineTee runs an engine that prints 100 MB of NDJSON twice per
// iteration: once through Run and the event log (read, split, validated,
// context spliced, written to a file), once with its output sent straight
// to /dev/null. It reports both throughputs and their ratio: the cost the
// tee adds to an engine that does nothing but print.
func BenchmarkEngineTee(b *testing.B) {
	const size = 100 << 20
	python := pythonPath(b)
	dir := b.TempDir()
	script := filepath.Join(dir, "gen.py")
	if err := os.WriteFile(script, []byte(ndjsonGenerator), 0o644); err != nil {
		b.Fatal(err)
	}
	logPath := filepath.Join(dir, "events.ndjson")
	run := func(log *eventlog.Log, redirect string) time.Duration {
		start := time.Now()
		res, err := Run(context.Background(), Spec{
			Path: "sh",
			Args: []string{"-c", `exec "$0" "$1" "$2"` + redirect, python, script, strconv.Itoa(size)},
			Log:  log,
		})
		took := time.Since(start)
		if err != nil || res.ExitCode != 0 {
			b.Fatalf("generator: %+v, %v (tail %q)", res, err, res.Tail)
		}
		return took
	}
	var tee, null time.Duration
	for b.Loop() {
		log, err := eventlog.Open(logPath, map[string]string{"run_id": "bench", "workspace_id": "ws"})
		if err != nil {
			b.Fatal(err)
		}
		tee += run(log, "")
		if err := log.Close(); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if info, err := os.Stat(logPath); err != nil || info.Size() < size {
			b.Fatalf("event log holds %v bytes, want at least %d (%v)", info.Size(), size, err)
		}
		os.Remove(logPath)
		b.StartTimer()
		null += run(nil, " >/dev/null")
	}
	mb := func(d time.Duration) float64 { return float64(b.N) * size / (1 << 20) / d.Seconds() }
	b.ReportMetric(mb(tee), "tee-MB/s")
	b.ReportMetric(mb(null), "devnull-MB/s")
	b.ReportMetric(tee.Seconds()/null.Seconds(), "tee/devnull")
}
