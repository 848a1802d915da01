package eventlog

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// EngineEvent is an engine line recognised as an event: a JSON object with a
// string "event" member.
type EngineEvent struct {
	// Name is the value of "event", e.g. "engine.run.completed".
	Name string
	// Scope is the event's own top-level "scope" member ("run", "sheet"...),
	// empty when absent or not a string. It is not the stream scope passed to
	// EngineLine.
	Scope string
	// Data is a copy of the "data" member, nil when absent.
	Data json.RawMessage
}

// Pieces of a spliced record, kept as variables so writing them does not
// allocate.
var (
	contextKey       = []byte(`,"context":`)
	engineContextKey = []byte(`,"engine_context":`)
	closeLine        = []byte("}\n")
	newline          = []byte("\n")
	comma            = []byte(",")
)

// maxNames bounds the interned event names of one Log; an engine that
// invents names without end gets fresh strings past it.
const maxNames = 1024

// EngineLine tees one line the engine printed on stream ("stdout" or
// "stderr") of a subprocess of the given scope ("run" or "environment").
//
// A line that is exactly one JSON object with a string "event" member is an
// engine event: it is appended as it is, with the Log's context merged into
// its "context" member, and returned so the caller can act on it (capture
// engine.run.completed). Anything else is recorded as a "<scope>.<stream>"
// event with the line as message, and EngineLine returns nil.
//
// Invalid UTF-8 is replaced with U+FFFD so that every record is valid JSON.
// line is not retained.
func (l *Log) EngineLine(line []byte, stream, scope string) *EngineEvent {
	if !utf8.Valid(line) {
		line = bytes.ToValidUTF8(line, []byte("\uFFFD"))
	}
	var m members
	if !scanObject(line, &m) {
		l.plainLine(line, stream, scope, 0)
		return nil
	}
	// In a valid JSON object a raw CR or LF can only be whitespace between
	// tokens; written as is it would split the record across lines. A space
	// in its place keeps the JSON and every member offset the same. A line
	// that turns out not to be an event is recorded as it came.
	raw := line
	if bytes.IndexByte(line, '\n') >= 0 || bytes.IndexByte(line, '\r') >= 0 {
		line = bytes.Map(func(r rune) rune {
			if r == '\r' || r == '\n' {
				return ' '
			}
			return r
		}, line)
	}
	name, ok := l.decodeName(line, m.event)
	if !ok {
		l.plainLine(raw, stream, scope, 0)
		return nil
	}
	ev := &EngineEvent{Name: name}
	ev.Scope, _ = l.decodeName(line, m.scope)
	if m.data.ok() {
		ev.Data = bytes.Clone(line[m.data.start:m.data.end])
	}
	if l == nil {
		return ev
	}
	switch {
	case !m.context.ok():
		// The common case: splice the context in before the closing brace.
		l.write(line[m.open:m.close], contextKey, l.ctxJSON, closeLine)
	case line[m.context.start] == '{':
		l.writeMerged(line, m)
	default:
		// A context that is not an object cannot take the worker's keys;
		// keep the engine's value beside it rather than lose it.
		l.write(line[m.open:m.context.start], l.ctxJSON, line[m.context.end:m.close],
			engineContextKey, line[m.context.start:m.context.end], closeLine)
	}
	return ev
}

// TruncatedLine records a line that was cut to length by the reader because
// it was too long; dropped is how many bytes were discarded. Such a line is
// never an event, since its JSON, if any, is cut short.
func (l *Log) TruncatedLine(line []byte, dropped int64, stream, scope string) {
	if !utf8.Valid(line) {
		line = bytes.ToValidUTF8(line, []byte("\uFFFD"))
	}
	l.plainLine(line, stream, scope, dropped)
}

// TruncationSuffix is appended to the message of a truncated line.
func TruncationSuffix(dropped int64) string {
	return " …[truncated " + strconv.FormatInt(dropped, 10) + " bytes]"
}

func (l *Log) plainLine(line []byte, stream, scope string, dropped int64) {
	if l == nil {
		return
	}
	buf := make([]byte, 0, 160+len(line)+len(l.ctxJSON))
	buf = l.appendHead(buf, "info", scope+"."+stream)
	buf = append(buf, `,"message":`...)
	if dropped > 0 {
		buf = appendString(buf, append(bytes.Clone(line), TruncationSuffix(dropped)...))
		buf = append(buf, `,"data":{"truncated":true,"truncated_bytes":`...)
		buf = strconv.AppendInt(buf, dropped, 10)
		buf = append(buf, '}')
	} else {
		buf = appendString(buf, line)
		buf = append(buf, `,"data":{}`...)
	}
	buf = append(buf, `,"context":`...)
	buf = append(buf, l.ctxJSON...)
	buf = append(buf, "}\n"...)
	l.write(buf)
}

// decodeName decodes the JSON string at s like decodeString, reusing the
// string of an earlier identical name: an engine repeats a few names
// thousands of times.
func (l *Log) decodeName(line []byte, s span) (string, bool) {
	if l == nil || !s.ok() || line[s.start] != '"' || bytes.IndexByte(line[s.start:s.end], '\\') >= 0 {
		return decodeString(line, s)
	}
	raw := line[s.start+1 : s.end-1]
	l.namesMu.Lock()
	defer l.namesMu.Unlock()
	if name, ok := l.names[string(raw)]; ok {
		return name, true
	}
	name := string(raw)
	if l.names == nil {
		l.names = make(map[string]string)
	}
	if len(l.names) < maxNames {
		l.names[name] = name
	}
	return name, true
}

// writeMerged writes an engine event that has its own context object. When
// none of the engine's context keys is one of the worker's, the worker's
// members are spliced in before the object's closing brace; otherwise the
// context object alone is decoded and merged.
func (l *Log) writeMerged(line []byte, m members) {
	ctx := line[m.context.start:m.context.end]
	keys, clash := 0, false
	scanObjectAt(ctx, 0, 1, func(key []byte, escaped bool, _ span) {
		keys++
		if _, ok := l.context[string(keyName(key, escaped))]; ok {
			clash = true
		}
	})
	inner := l.ctxJSON[1 : len(l.ctxJSON)-1]
	switch {
	case clash:
		merged, err := l.mergeContext(ctx)
		if err != nil {
			merged = l.ctxJSON
		}
		l.write(line[m.open:m.context.start], merged, line[m.context.end:m.close+1], newline)
	case len(inner) == 0:
		l.write(line[m.open:m.close+1], newline)
	case keys == 0:
		closing := m.context.end - 1
		l.write(line[m.open:closing], inner, line[closing:m.close+1], newline)
	default:
		closing := m.context.end - 1
		l.write(line[m.open:closing], comma, inner, line[closing:m.close+1], newline)
	}
}

// mergeContext adds the Log's context to the engine's own context object.
// The worker's values win on a shared key: they name the run, and readers
// filter on them.
func (l *Log) mergeContext(raw []byte) ([]byte, error) {
	var ctx map[string]json.RawMessage
	if err := json.Unmarshal(raw, &ctx); err != nil {
		return nil, fmt.Errorf("decode engine context: %w", err)
	}
	if ctx == nil {
		ctx = make(map[string]json.RawMessage, len(l.context))
	}
	for k, v := range l.context {
		b, err := marshal(v)
		if err != nil {
			return nil, err
		}
		ctx[k] = b
	}
	return marshal(ctx)
}
