package eventlog

import (
	"path/filepath"
	"strings"
	"testing"
)

// typicalLine is an engine event of the usual size, about 200 bytes.
const typicalLine = `{"timestamp":"2024-05-01T12:00:00.123456Z","level":"info","event":"engine.table.detected","message":"table 3 on Sheet1","scope":"sheet","data":{"sheet":"Sheet1","table":3,"rows":1250,"columns":14}}`

// BenchmarkEngineLineTee measures the tee of engine output into a real file:
// the throughput an engine's NDJSON can be logged at.
func BenchmarkEngineLineTee(b *testing.B) {
	for _, bc := range []struct{ name, line string }{
		{"event", typicalLine},
		{"event-with-context", strings.Replace(typicalLine, `"scope":"sheet"`, `"scope":"sheet","context":{"sheet_index":0}`, 1)},
		{"plain", strings.Repeat("plain console output ", 10)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			l, err := Open(filepath.Join(b.TempDir(), "events.ndjson"), testContext)
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
