package eventlog

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"unicode/utf8"
)

// FuzzEngineLine feeds arbitrary lines to EngineLine and checks that it never
// panics, always writes exactly one JSON object carrying the worker's
// context, recognises exactly the lines encoding/json reads as objects with
// a string "event", and otherwise keeps the engine's members as they were.
func FuzzEngineLine(f *testing.F) {
	for _, seed := range []string{
		`{"event":"engine.run.completed","scope":"run","data":{"outputs":{"normalized":{"path":"output/x.xlsx"}}}}`,
		`{"event":"x","context":{"sheet":"A"}}`,
		`{"event":"x","context":[1]}`,
		`{"event":1}`,
		`[1,2]`,
		`not json`,
		"{\"event\":\"caf\xe9\"}",
		`{"\u0065vent":"e","data":null}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		var out bytes.Buffer
		l, err := newLog(&out, nil, testContext)
		if err != nil {
			t.Fatal(err)
		}
		ev := l.EngineLine(line, "stdout", "run")
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}

		written := out.Bytes()
		if bytes.Count(written, []byte("\n")) != 1 || written[len(written)-1] != '\n' {
			t.Fatalf("output is not exactly one line: %q", written)
		}
		var rec map[string]any
		if err := json.Unmarshal(written, &rec); err != nil {
			t.Fatalf("output is not a JSON object: %v: %q", err, written)
		}
		if !utf8.Valid(written) {
			t.Fatalf("output is not valid UTF-8: %q", written)
		}
		ctx, ok := rec["context"].(map[string]any)
		if !ok {
			t.Fatalf("output has no context object: %q", written)
		}
		for k, v := range testContext {
			if ctx[k] != v {
				t.Fatalf("context[%q] = %v, want %q in %q", k, ctx[k], v, written)
			}
		}

		fixed := bytes.ToValidUTF8(line, []byte("\uFFFD"))
		var in any
		_ = json.Unmarshal(fixed, &in) // a line that is not JSON leaves in nil: not an object
		obj, isObject := in.(map[string]any)
		name, hasEvent := obj["event"].(string)
		if isObject && hasEvent {
			if ev == nil {
				t.Fatalf("event line not recognised: %q", line)
			}
			if ev.Name != name {
				t.Fatalf("Name = %q, want %q", ev.Name, name)
			}
			// Everything but the context the worker owns is kept.
			delete(obj, "context")
			delete(rec, "context")
			delete(rec, "engine_context")
			if !reflect.DeepEqual(obj, rec) {
				t.Fatalf("members changed:\n in %v\nout %v", obj, rec)
			}
			return
		}
		if ev != nil {
			t.Fatalf("non-event line %q recognised as %+v", line, ev)
		}
		if rec["event"] != "run.stdout" || rec["message"] != string(fixed) {
			t.Fatalf("plain record = %v, want message %q", rec, fixed)
		}
	})
}
