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
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"
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

func (l *Log) appendHead(buf []byte, level, event string) []byte {
	buf = append(buf, `{"timestamp":"`...)
	buf = time.Now().UTC().AppendFormat(buf, time.RFC3339Nano)
	buf = append(buf, `","level":`...)
	buf = appendString(buf, validUTF8(level))
	buf = append(buf, `,"event":`...)
	buf = appendString(buf, validUTF8(event))
	return buf
}
