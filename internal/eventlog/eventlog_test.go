package eventlog

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

var testContext = map[string]string{
	"run_id":           "0b7f3c1e-0000-4000-8000-000000000001",
	"workspace_id":     "ws-1",
	"configuration_id": "cfg-1",
	"environment_id":   "env-1",
}

// openTemp opens a Log in a fresh folder (that Open must create) and returns
// it with its path.
func openTemp(t *testing.T) (*Log, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "nested", "logs", "events.ndjson")
	l, err := Open(path, testContext)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return l, path
}

// readRecords closes nothing; it flushes l and decodes every line of path.
func readRecords(t *testing.T, l *Log, path string) []map[string]any {
	t.Helper()
	if err := l.Flush(); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	return decodeLines(t, readFile(t, path))
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decodeLines(t *testing.T, b []byte) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line is not a JSON object: %v: %q", err, sc.Bytes())
		}
		out = append(out, m)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func wantContext(t *testing.T, rec map[string]any) {
	t.Helper()
	ctx, ok := rec["context"].(map[string]any)
	if !ok {
		t.Fatalf("record has no context object: %v", rec)
	}
	for k, v := range testContext {
		if ctx[k] != v {
			t.Errorf("context[%q] = %v, want %q", k, ctx[k], v)
		}
	}
}

func TestEmit(t *testing.T) {
	l, path := openTemp(t)
	before := time.Now().UTC()
	l.Emit("info", "run.start", "run started <ok> & \"quoted\"\n", map[string]any{"attempt": 1, "input": "a&b.xlsx"})
	l.Emit("error", "run.complete", "", nil)
	recs := readRecords(t, l, path)
	if len(recs) != 2 {
		t.Fatalf("got %d records, want 2", len(recs))
	}
	r := recs[0]
	for _, key := range []string{"timestamp", "level", "event", "message", "data", "context"} {
		if _, ok := r[key]; !ok {
			t.Errorf("record lacks %q: %v", key, r)
		}
	}
	ts, err := time.Parse(time.RFC3339Nano, r["timestamp"].(string))
	if err != nil {
		t.Fatalf("timestamp: %v", err)
	}
	if ts.Location() != time.UTC || ts.Before(before.Add(-time.Second)) || ts.After(time.Now().Add(time.Second)) {
		t.Errorf("timestamp %v is not a current UTC time", ts)
	}
	if r["level"] != "info" || r["event"] != "run.start" || r["message"] != "run started <ok> & \"quoted\"\n" {
		t.Errorf("unexpected record %v", r)
	}
	if d := r["data"].(map[string]any); d["attempt"] != 1.0 || d["input"] != "a&b.xlsx" {
		t.Errorf("data = %v", d)
	}
	wantContext(t, r)
	if d, ok := recs[1]["data"].(map[string]any); !ok || len(d) != 0 {
		t.Errorf("nil data should be {}, got %v", recs[1]["data"])
	}
	// HTML characters are written as they are: the file is read by tools,
	// not embedded in pages.
	if !bytes.Contains(readFile(t, path), []byte("<ok> & ")) {
		t.Errorf("message was HTML-escaped: %s", readFile(t, path))
	}
}

func TestEmitUnencodableData(t *testing.T) {
	l, path := openTemp(t)
	l.Emit("info", "run.start", "x", map[string]any{"bad": make(chan int)})
	recs := readRecords(t, l, path)
	if d := recs[0]["data"].(map[string]any); !strings.Contains(fmt.Sprint(d["encode_error"]), "chan") {
		t.Errorf("data = %v, want an encode_error", d)
	}
}

func TestEngineLineSplicesContext(t *testing.T) {
	l, path := openTemp(t)
	line := `{"timestamp":"2024-05-01T12:00:00.123456Z","level":"info","event":"engine.run.completed","message":"done","scope":"run","data":{"counts":{"rows":{"total":3}}}}`
	ev := l.EngineLine([]byte(line), "stdout", "run")
	if ev == nil {
		t.Fatal("event not recognised")
	}
	if ev.Name != "engine.run.completed" || ev.Scope != "run" || string(ev.Data) != `{"counts":{"rows":{"total":3}}}` {
		t.Errorf("event = %+v (data %s)", ev, ev.Data)
	}
	l.Flush()
	got := string(readFile(t, path))
	ctx, _ := marshal(testContext)
	want := strings.TrimSuffix(line, "}") + `,"context":` + string(ctx) + "}\n"
	if got != want {
		t.Errorf("spliced line\n got %s\nwant %s", got, want)
	}
}

func TestEngineLineMergesContext(t *testing.T) {
	l, path := openTemp(t)
	line := `  {"event":"engine.sheet.start","context":{"sheet":"Sheet 1","run_id":"engine-thinks-otherwise"},"data":{}}  `
	if ev := l.EngineLine([]byte(line), "stderr", "run"); ev == nil || ev.Name != "engine.sheet.start" || ev.Scope != "" {
		t.Fatalf("event = %+v", ev)
	}
	recs := readRecords(t, l, path)
	ctx := recs[0]["context"].(map[string]any)
	if ctx["sheet"] != "Sheet 1" {
		t.Errorf("engine's own context key lost: %v", ctx)
	}
	wantContext(t, recs[0])
	if len(ctx) != len(testContext)+1 {
		t.Errorf("context = %v", ctx)
	}
}

func TestEngineLineNonObjectContext(t *testing.T) {
	l, path := openTemp(t)
	l.EngineLine([]byte(`{"event":"x","context":"engine text"}`), "stdout", "run")
	l.EngineLine([]byte(`{"event":"y","context":null}`), "stdout", "run")
	recs := readRecords(t, l, path)
	for i, want := range []any{"engine text", nil} {
		wantContext(t, recs[i])
		if got, ok := recs[i]["engine_context"]; !ok || got != want {
			t.Errorf("record %d engine_context = %v, want %v", i, got, want)
		}
	}
}

func TestEngineLinePlain(t *testing.T) {
	cases := []struct{ name, line string }{
		{"text", "Traceback (most recent call last):"},
		{"empty", ""},
		{"invalid json", `{"event":"x",}`},
		{"unterminated", `{"event":"x"`},
		{"array", `[{"event":"x"}]`},
		{"string", `"event"`},
		{"number", `42`},
		{"no event", `{"message":"hello"}`},
		{"event not a string", `{"event":7}`},
		{"nested event only", `{"data":{"event":"x"}}`},
		{"two objects", `{"event":"a"}{"event":"b"}`},
		{"control char", "{\"event\":\"a\tb\"}"},
		{"trailing garbage", `{"event":"a"} x`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l, path := openTemp(t)
			if ev := l.EngineLine([]byte(tc.line), "stderr", "environment"); ev != nil {
				t.Fatalf("plain line taken for an event: %+v", ev)
			}
			recs := readRecords(t, l, path)
			if len(recs) != 1 {
				t.Fatalf("%d records", len(recs))
			}
			r := recs[0]
			if r["event"] != "environment.stderr" || r["message"] != tc.line || r["level"] != "info" {
				t.Errorf("record = %v", r)
			}
			wantContext(t, r)
		})
	}
}

func TestEngineLineEscapedKey(t *testing.T) {
	l, path := openTemp(t)
	ev := l.EngineLine([]byte(`{"\u0065vent":"engine.run.\u0063ompleted","data":[1]}`), "stdout", "run")
	if ev == nil || ev.Name != "engine.run.completed" || string(ev.Data) != "[1]" {
		t.Fatalf("event = %+v", ev)
	}
	wantContext(t, readRecords(t, l, path)[0])
}

func TestEngineLineLastDuplicateWins(t *testing.T) {
	l, path := openTemp(t)
	ev := l.EngineLine([]byte(`{"event":"first","event":"second","context":{"a":1},"context":{"b":2}}`), "stdout", "run")
	if ev == nil || ev.Name != "second" {
		t.Fatalf("event = %+v", ev)
	}
	rec := readRecords(t, l, path)[0]
	if rec["event"] != "second" {
		t.Errorf("record event = %v", rec["event"])
	}
	wantContext(t, rec)
	if rec["context"].(map[string]any)["b"] != 2.0 {
		t.Errorf("context = %v", rec["context"])
	}
}

func TestEngineLineInvalidUTF8(t *testing.T) {
	l, path := openTemp(t)
	l.EngineLine([]byte("caf\xe9 \xff\xfe"), "stdout", "run")
	ev := l.EngineLine([]byte("{\"event\":\"x\",\"message\":\"caf\xe9\"}"), "stdout", "run")
	if ev == nil {
		t.Fatal("event with invalid UTF-8 inside a string should still be an event")
	}
	recs := readRecords(t, l, path)
	// A run of invalid bytes becomes one replacement character.
	if recs[0]["message"] != "caf\uFFFD \uFFFD" || recs[1]["message"] != "caf\uFFFD" {
		t.Errorf("messages = %q, %q", recs[0]["message"], recs[1]["message"])
	}
}

func TestTruncatedLine(t *testing.T) {
	l, path := openTemp(t)
	l.TruncatedLine([]byte(`{"event":"engine.big","data":"xxxx`), 1234, "stdout", "run")
	r := readRecords(t, l, path)[0]
	if r["event"] != "run.stdout" || r["message"] != `{"event":"engine.big","data":"xxxx …[truncated 1234 bytes]` {
		t.Errorf("record = %v", r)
	}
	d := r["data"].(map[string]any)
	if d["truncated"] != true || d["truncated_bytes"] != 1234.0 {
		t.Errorf("data = %v", d)
	}
}

func TestConcurrentWriters(t *testing.T) {
	l, path := openTemp(t)
	const perWriter = 5000
	var wg sync.WaitGroup
	for _, stream := range []string{"stdout", "stderr"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWriter {
				if i%2 == 0 {
					l.EngineLine(fmt.Appendf(nil, `{"event":"engine.tick","data":{"i":%d,"stream":%q}}`, i, stream), stream, "run")
				} else {
					l.EngineLine(fmt.Appendf(nil, "plain %s line %d with some padding to cross buffer edges", stream, i), stream, "run")
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range perWriter / 10 {
			l.Emit("info", "run.heartbeat", "", map[string]int{"i": i})
			if i%50 == 0 {
				l.Flush()
			}
		}
	}()
	wg.Wait()
	recs := readRecords(t, l, path)
	if want := 2*perWriter + perWriter/10; len(recs) != want {
		t.Fatalf("got %d records, want %d", len(recs), want)
	}
	for _, r := range recs {
		wantContext(t, r)
	}
}

func TestCloseFlushesAndDropsLaterWrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.ndjson")
	l, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	l.Emit("info", "a", "", nil)
	if n := len(readFile(t, path)); n != 0 {
		t.Fatalf("write reached the file before a flush (%d bytes); buffering is off", n)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	l.Emit("info", "b", "", nil)
	l.EngineLine([]byte(`{"event":"c"}`), "stdout", "run")
	recs := decodeLines(t, readFile(t, path))
	if len(recs) != 1 || recs[0]["event"] != "a" {
		t.Fatalf("records = %v", recs)
	}
	if ctx := recs[0]["context"].(map[string]any); len(ctx) != 0 {
		t.Errorf("nil context should be {}, got %v", ctx)
	}
}

func TestAppendsToExistingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.ndjson")
	for i := range 2 {
		l, err := Open(path, nil)
		if err != nil {
			t.Fatal(err)
		}
		l.Emit("info", fmt.Sprint("open.", i), "", nil)
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if recs := decodeLines(t, readFile(t, path)); len(recs) != 2 || recs[1]["event"] != "open.1" {
		t.Fatalf("records = %v", recs)
	}
}

func TestTimedFlush(t *testing.T) {
	old := flushDelay
	flushDelay = 20 * time.Millisecond
	defer func() { flushDelay = old }()
	l, path := openTemp(t)
	l.EngineLine([]byte("hello"), "stdout", "run")
	deadline := time.Now().Add(5 * time.Second)
	for len(readFile(t, path)) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("buffered record never reached the file without an explicit Flush")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestNilLog(t *testing.T) {
	var l *Log
	l.Emit("info", "x", "", nil)
	l.TruncatedLine([]byte("x"), 1, "stdout", "run")
	if ev := l.EngineLine([]byte(`{"event":"engine.run.completed","data":{"a":1}}`), "stdout", "run"); ev == nil || string(ev.Data) != `{"a":1}` {
		t.Errorf("a nil Log should still parse events, got %+v", ev)
	}
	if l.EngineLine([]byte("plain"), "stdout", "run") != nil {
		t.Error("plain line parsed as event")
	}
	if err := l.Flush(); err != nil {
		t.Error(err)
	}
	if err := l.Close(); err != nil {
		t.Error(err)
	}
}

func TestOpenError(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o644)
	if _, err := Open(filepath.Join(file, "events.ndjson"), nil); err == nil || !strings.Contains(err.Error(), "event log") {
		t.Fatalf("Open under a file: err = %v", err)
	}
}

// TestScanAgreesWithEncodingJSON pins the hand-written scanner to
// encoding/json on inputs where validators commonly differ.
func TestScanAgreesWithEncodingJSON(t *testing.T) {
	inputs := []string{
		`{}`, ` {} `, `{"a":1}`, `{"a":-0}`, `{"a":01}`, `{"a":1.}`, `{"a":.5}`, `{"a":1e}`,
		`{"a":1e+5}`, `{"a":-}`, `{"a":1E-0}`, `{"a":tru}`, `{"a":true}`, `{"a":nul}`,
		`{"a":"\u00e9"}`, `{"a":"\u00g9"}`, `{"a":"\x"}`, `{"a":"\/"}`, `{"a":[1,]}`,
		`{"a":[]}`, `{"a":[1 2]}`, `{"a" 1}`, `{a:1}`, `{"a":1,}`, `{,}`, `{"a":{"b":{}}}`,
		"{\"a\":\"\x7f\"}", "{\"a\":\"\x1f\"}", "\t{\"a\":1}\r\n", `{"a":"\ud800"}`,
		`{"a":1}}`, `{"a":"b"`, `{"a`, `{`, `}`, `{"a":-1.5e10}`, `{"a":+1}`, `{"a":Infinity}`,
		`{"a":"` + "\u2028" + `"}`,
	}
	for _, depth := range []int{maxDepth - 1, maxDepth, maxDepth + 1} {
		inputs = append(inputs, "{\"a\":"+strings.Repeat("[", depth-1)+strings.Repeat("]", depth-1)+"}")
	}
	for _, in := range inputs {
		var m members
		got := scanObject([]byte(in), &m)
		want := json.Valid([]byte(in))
		if got != want {
			t.Errorf("scanObject(%.60q) = %v, json.Valid = %v", in, got, want)
		}
	}
}

// TestSpliceMatchesDecode checks the spliced output says the same as the
// engine's line plus the context, by decoding both.
func TestSpliceMatchesDecode(t *testing.T) {
	l, path := openTemp(t)
	line := `{"timestamp":"t","level":"warning","event":"engine.validation","message":"m \"q\" \u2028","data":{"issues":[{"row":1,"severity":"error"}],"x":null},"extra":[true,false,1.5e3]}`
	l.EngineLine([]byte(line), "stdout", "run")
	rec := readRecords(t, l, path)[0]
	var want map[string]any
	json.Unmarshal([]byte(line), &want)
	delete(rec, "context")
	if !reflect.DeepEqual(rec, want) {
		t.Errorf("spliced record differs:\n got %v\nwant %v", rec, want)
	}
}

func TestEngineLineContextObjectSplice(t *testing.T) {
	cases := []struct {
		name    string
		context map[string]string
		line    string
		want    map[string]any
	}{
		{"engine keys kept", map[string]string{"run_id": "r"}, `{"event":"e","context":{"sheet":"A", "n":[1,{"x":2}]}}`,
			map[string]any{"sheet": "A", "n": []any{1.0, map[string]any{"x": 2.0}}, "run_id": "r"}},
		{"empty engine context", map[string]string{"run_id": "r"}, `{"event":"e","context":{ }}`,
			map[string]any{"run_id": "r"}},
		{"no worker context", nil, `{"event":"e","context":{"sheet":"A"}}`,
			map[string]any{"sheet": "A"}},
		{"escaped clash", map[string]string{"run_id": "r"}, `{"event":"e","context":{"run\u005fid":"engine","k":1}}`,
			map[string]any{"run_id": "r", "k": 1.0}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "events.ndjson")
			l, err := Open(path, tc.context)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			if ev := l.EngineLine([]byte(tc.line), "stdout", "run"); ev == nil {
				t.Fatal("not an event")
			}
			recs := readRecords(t, l, path)
			if got := recs[0]["context"]; !reflect.DeepEqual(got, tc.want) {
				t.Errorf("context = %v, want %v", got, tc.want)
			}
		})
	}
}
