package engine

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ade-dev/ade-worker/internal/eventlog"
	"github.com/ade-dev/ade-worker/internal/rusage"
)

// The engines of BenchmarkEngineTee print at least argv[1] bytes of
// typical engine events, about 200 bytes each, then exit.
//
// eventlogEngine prints them the way the reference engine prints every
// event: through ade_engine.events.EventLog, one json.dumps and one flush
// per event. printerEngine writes pre-made lines in 1 MB blocks, as fast as
// Python can: an engine that does nothing but print, the worst case for
// the tee.
const (
	eventlogEngine = `
import sys
from ade_engine.events import EventLog
log = EventLog(sys.stdout, "ndjson", "INFO")
data = {"sheet": "Sheet1", "table": 3, "rows": 1250, "columns": 14}
written = 0
target = int(sys.argv[1])
line_size = len('{"timestamp":"2024-05-01T12:00:00.123456Z","level":"info","event":"engine.table.detected","message":"table 3 on Sheet1","scope":"sheet","data":{"sheet":"Sheet1","table":3,"rows":1250,"columns":14}}') + 1
for _ in range(-(-target // line_size)):
    log.info("engine.table.detected", "table 3 on Sheet1", data, scope="sheet")
`
	printerEngine = `
import sys
line = '{"timestamp":"2024-05-01T12:00:00.123456Z","level":"info","event":"engine.table.detected","message":"table 3 on Sheet1","scope":"sheet","data":{"sheet":"Sheet1","table":3,"rows":1250,"columns":14}}\n'
block = (line * 5000).encode()
out = sys.stdout.buffer
for _ in range(-(-int(sys.argv[1]) // len(block))):
    out.write(block)
out.flush()
`
)

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

// BenchmarkEngineTee runs an engine that prints 100 MB of NDJSON, twice per
// iteration: once through Run and the event log (read, split, validated,
// context spliced, written to a file), once with its output sent straight
// to /dev/null. What is compared is the engine process's own wall time
// (Result.Duration, start to exit), alternating the two so that other load
// on the machine weighs on both: engine-slowdown is how much longer the
// engine took to print the same events because the worker was reading
// them. engine=eventlog prints as the reference engine does;
// engine=printer only prints (see the scripts above).
func BenchmarkEngineTee(b *testing.B) {
	const size = 100 << 20
	if runtime.GOOS == "windows" {
		b.Skip("the engines run through sh")
	}
	python := pythonPath(b)
	src, err := filepath.Abs(filepath.Join("..", "..", "apps", "ade-engine", "src"))
	if err != nil {
		b.Fatal(err)
	}
	for _, eng := range []struct{ name, script string }{{"eventlog", eventlogEngine}, {"printer", printerEngine}} {
		b.Run("engine="+eng.name, func(b *testing.B) {
			dir := b.TempDir()
			script := filepath.Join(dir, "gen.py")
			if err := os.WriteFile(script, []byte(eng.script), 0o644); err != nil {
				b.Fatal(err)
			}
			env := append(ChildEnv(os.Environ()), "PYTHONPATH="+src)
			logPath := filepath.Join(dir, "events.ndjson")
			run := func(log *eventlog.Log, redirect string) time.Duration {
				res, err := Run(context.Background(), Spec{
					Path: "sh",
					Args: []string{"-c", `exec "$0" "$1" "$2"` + redirect, python, script, strconv.Itoa(size)},
					Env:  env,
					Log:  log,
				})
				if err != nil || res.ExitCode != 0 {
					b.Fatalf("engine: %+v, %v (tail %q)", res, err, res.Tail)
				}
				return res.Duration
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
			b.ReportMetric(tee.Seconds()/null.Seconds(), "engine-slowdown")
		})
	}
}

// BenchmarkRunSpawn runs an engine that prints one minimal
// engine.run.completed and exits (Python start-up, about 10 ms) through
// Run, and reports the worker's own CPU per run (this process, threads
// included, children excluded): what spawning, watching and reaping an
// engine costs the worker.
func BenchmarkRunSpawn(b *testing.B) {
	python := pythonPath(b)
	script := filepath.Join(b.TempDir(), "noop.py")
	if err := os.WriteFile(script, []byte("import sys\nsys.stdout.write('{\"event\":\"engine.run.completed\",\"data\":{}}\\n')\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	cpu0 := rusage.CPU()
	for b.Loop() {
		res, err := Run(context.Background(), Spec{Path: python, Args: []string{"-S", script}})
		if err != nil || res.ExitCode != 0 || res.Completed == nil {
			b.Fatalf("engine: %+v, %v", res, err)
		}
	}
	b.ReportMetric(float64((rusage.CPU()-cpu0).Microseconds())/float64(b.N), "worker-cpu-us/run")
}
