// Package eventlog writes the events.ndjson file of a run or an environment:
// one JSON object per line, {"timestamp","level","event","message","data",
// "context"}, shared by the worker's own records and the engine's events.
//
// The engine may print a great deal of NDJSON, and every line passes through
// here on its way to disk, so the engine path avoids decoding and re-encoding:
// it validates a line in one pass and splices the worker's context into the
// original bytes.
package eventlog

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// flushDelay bounds how long a record may sit in the buffer before it
// reaches the file, so anyone tailing events.ndjson sees a live run. A
// variable so tests need not wait a second.
var flushDelay = time.Second

// bufferSize is the write buffer: large enough that a busy engine costs few
// write syscalls, small enough to be nothing per run.
const bufferSize = 64 << 10

// writers keeps write buffers between logs: a worker opens one per run.
var writers = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, bufferSize) }}

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

// Log is an append-only events.ndjson file. Its methods are safe for
// concurrent use, and a nil *Log accepts every call and writes nothing, so
// callers that have no log need no branches.
type Log struct {
	mu      sync.Mutex
	path    string
	closer  io.Closer
	w       *bufio.Writer
	err     error // first write or flush error, reported by Flush and Close
	closed  bool
	armed   bool // a timed flush is pending
	timer   *time.Timer
	context map[string]string
	ctxJSON []byte // the context object, encoded once

	namesMu sync.Mutex
	names   map[string]string // event names and scopes seen, to reuse
}

// Open opens path for appending, creating it and its parent folders, and
// tags every record written through the Log with context (run id,
// workspace, configuration, environment...).
func Open(path string, context map[string]string) (*Log, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("create event log folder: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open event log: %w", err)
	}
	l, err := newLog(f, f, context)
	if err != nil {
		f.Close()
		return nil, err
	}
	l.path = path
	return l, nil
}

// newLog writes records to w and closes closer, if any, on Close.
func newLog(w io.Writer, closer io.Closer, context map[string]string) (*Log, error) {
	ctx := make(map[string]string, len(context))
	for k, v := range context {
		ctx[k] = v
	}
	ctxJSON, err := marshal(ctx)
	if err != nil {
		return nil, fmt.Errorf("encode event log context: %w", err)
	}
	bw := writers.Get().(*bufio.Writer)
	bw.Reset(w)
	l := &Log{closer: closer, w: bw, context: ctx, ctxJSON: ctxJSON}
	l.timer = time.AfterFunc(flushDelay, l.timedFlush)
	l.timer.Stop()
	return l, nil
}

// Path returns the file the Log appends to.
func (l *Log) Path() string {
	if l == nil {
		return ""
	}
	return l.path
}

// Flush writes buffered records to the file.
func (l *Log) Flush() error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return l.err
	}
	l.flushLocked()
	return l.err
}

// Close flushes and closes the file. Records written after Close are dropped.
func (l *Log) Close() error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return l.err
	}
	l.closed = true
	l.timer.Stop()
	l.flushLocked()
	// Nothing writes to a closed Log, so its buffer can serve the next one.
	l.w.Reset(nil)
	writers.Put(l.w)
	l.w = nil
	if l.closer != nil {
		if err := l.closer.Close(); err != nil && l.err == nil {
			l.err = fmt.Errorf("close event log: %w", err)
		}
	}
	return l.err
}

func (l *Log) flushLocked() {
	l.armed = false
	if err := l.w.Flush(); err != nil && l.err == nil {
		l.err = fmt.Errorf("write event log: %w", err)
	}
}

func (l *Log) timedFlush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.closed && l.armed {
		l.flushLocked()
	}
}

// write appends parts as one record. Holding the lock across the parts keeps
// records from interleaving when stdout and stderr are teed at once.
func (l *Log) write(parts ...[]byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	for _, p := range parts {
		if _, err := l.w.Write(p); err != nil {
			if l.err == nil {
				l.err = fmt.Errorf("write event log: %w", err)
			}
			return
		}
	}
	if !l.armed && l.w.Buffered() > 0 {
		l.armed = true
		l.timer.Reset(flushDelay)
	}
}

// Emit appends one of the worker's own records (run.start, run.complete,
// environment.failed...). data is encoded as JSON; nil becomes {}.
func (l *Log) Emit(level, event, message string, data any) {
	if l == nil {
		return
	}
	dataJSON := []byte("{}")
	if data != nil {
		b, err := marshal(data)
		if err != nil {
			b, _ = marshal(map[string]string{"encode_error": err.Error()})
		}
		dataJSON = b
	}
	buf := make([]byte, 0, 128+len(message)+len(dataJSON)+len(l.ctxJSON))
	buf = l.appendHead(buf, level, event)
	buf = append(buf, `,"message":`...)
	buf = appendString(buf, validUTF8(message))
	buf = append(buf, `,"data":`...)
	buf = append(buf, dataJSON...)
	buf = append(buf, `,"context":`...)
	buf = append(buf, l.ctxJSON...)
	buf = append(buf, "}\n"...)
	l.write(buf)
}

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

func (l *Log) appendHead(buf []byte, level, event string) []byte {
	buf = append(buf, `{"timestamp":"`...)
	buf = time.Now().UTC().AppendFormat(buf, time.RFC3339Nano)
	buf = append(buf, `","level":`...)
	buf = appendString(buf, validUTF8(level))
	buf = append(buf, `,"event":`...)
	buf = appendString(buf, validUTF8(event))
	return buf
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

// marshal encodes v without HTML escaping and without a trailing newline.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

func validUTF8(s string) []byte {
	if utf8.ValidString(s) {
		return []byte(s)
	}
	return []byte(string(bytes.ToValidUTF8([]byte(s), []byte("\uFFFD"))))
}

const hexDigits = "0123456789abcdef"

// appendString appends s, which must be valid UTF-8, as a JSON string.
func appendString(dst, s []byte) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			// U+2028 and U+2029 are valid JSON but end lines in JavaScript;
			// escape them as encoding/json does for readers of the file.
			if c == 0xE2 && i+2 < len(s) && s[i+1] == 0x80 && (s[i+2] == 0xA8 || s[i+2] == 0xA9) {
				dst = append(dst, s[start:i]...)
				dst = append(dst, `\u202`...)
				dst = append(dst, hexDigits[s[i+2]&0x0F])
				i += 3
				start = i
				continue
			}
			i++
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"':
			dst = append(dst, '\\', '"')
		case '\\':
			dst = append(dst, '\\', '\\')
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
		}
		i++
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
