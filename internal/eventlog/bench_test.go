package eventlog

import (
	"io"
	"path/filepath"
	"strings"
	"testing"
)

// typicalLine is an engine event of the usual size, about 200 bytes.
const typicalLine = `{"timestamp":"2024-05-01T12:00:00.123456Z","level":"info","event":"engine.table.detected","message":"table 3 on Sheet1","scope":"sheet","data":{"sheet":"Sheet1","table":3,"rows":1250,"columns":14}}`

// BenchmarkEngineLineTee measures the tee of engine output: the throughput
// an engine's NDJSON can be logged at. The "file" sink is a real file, as in
// production; "discard" leaves out the disk to show the CPU cost alone.
func BenchmarkEngineLineTee(b *testing.B) {
	lines := []struct{ name, line string }{
		{"event", typicalLine},
		{"event-with-context", strings.Replace(typicalLine, `"scope":"sheet"`, `"scope":"sheet","context":{"sheet_index":0}`, 1)},
		{"plain", strings.Repeat("plain console output ", 10)},
	}
	for _, sink := range []string{"file", "discard"} {
		for _, bc := range lines {
			b.Run(bc.name+"/"+sink, func(b *testing.B) {
				var l *Log
				var err error
				if sink == "file" {
					l, err = Open(filepath.Join(b.TempDir(), "events.ndjson"), testContext)
				} else {
					l, err = newLog(io.Discard, nil, testContext)
				}
				if err != nil {
					b.Fatal(err)
				}
				defer l.Close()
				line := []byte(bc.line)
				b.SetBytes(int64(len(line)))
				b.ReportAllocs()
				for b.Loop() {
					l.EngineLine(line, "stdout", "run")
				}
				if err := l.Flush(); err != nil {
					b.Fatal(err)
				}
			})
		}
	}
}
