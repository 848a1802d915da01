package engine

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/ade-dev/ade-worker/internal/eventlog"
)

// collector reads both output streams into the log and keeps what Result
// reports.
type collector struct {
	spec Spec

	mu        sync.Mutex
	completed *eventlog.EngineEvent
	tail      []string
	next      int // where the next tail line goes once tail is full

	eventMu sync.Mutex // serialises OnEvent
}

func newCollector(s Spec) *collector { return &collector{spec: s} }

func (c *collector) read(r io.Reader, stream string) {
	lr := NewLineReader(r, c.spec.MaxLine)
	defer lr.Release()
	lr.AllowLonger(c.spec.MaxSummaryLine, looksLikeSummary)
	for {
		line, dropped, err := lr.Next()
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, os.ErrClosed) {
				slog.Warn("read subprocess output", slog.String("stream", stream), slog.Any("error", err))
			}
			return
		}
		if dropped > 0 {
			c.spec.Log.TruncatedLine(line, dropped, stream, c.spec.Scope)
			if stream == "stderr" {
				c.addTail(string(line) + eventlog.TruncationSuffix(dropped))
			}
			continue
		}
		ev := c.spec.Log.EngineLine(line, stream, c.spec.Scope)
		if ev == nil {
			if stream == "stderr" {
				c.addTail(string(line))
			}
			continue
		}
		if ev.Name == CompletedEvent {
			c.mu.Lock()
			c.completed = ev
			c.mu.Unlock()
		}
		if c.spec.OnEvent != nil {
			c.eventMu.Lock()
			c.spec.OnEvent(ev)
			c.eventMu.Unlock()
		}
	}
}

func (c *collector) addTail(line string) {
	line = strings.ToValidUTF8(line, "\uFFFD")
	if len(line) > tailLineBytes {
		cut := tailLineBytes
		for cut > 0 && !utf8.RuneStart(line[cut]) {
			cut--
		}
		line = line[:cut] + "…"
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.tail) < tailLines {
		c.tail = append(c.tail, line)
		return
	}
	c.tail[c.next] = line
	c.next = (c.next + 1) % tailLines
}

func (c *collector) result() (*eventlog.EngineEvent, []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	tail := make([]string, 0, len(c.tail))
	tail = append(tail, c.tail[c.next:]...)
	tail = append(tail, c.tail[:c.next]...)
	return c.completed, tail
}

// summaryName is how an engine.run.completed line names itself.
var summaryName = []byte(`"` + CompletedEvent + `"`)

// looksLikeSummary reports whether the head of a long line is that of an
// engine.run.completed event: a JSON object naming the event in its first
// few kilobytes, where the reference engine puts it.
func looksLikeSummary(head []byte) bool {
	head = bytes.TrimLeft(head, " \t")
	return len(head) > 0 && head[0] == '{' && bytes.Contains(head[:min(len(head), 4<<10)], summaryName)
}

// readAll reads both streams, each on a goroutine of its own, and returns a
// channel closed once both have reached their end (or been closed).
func (c *collector) readAll(stdout, stderr io.Reader) <-chan struct{} {
	drained := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); c.read(stdout, "stdout") }()
	go func() { defer wg.Done(); c.read(stderr, "stderr") }()
	go func() { wg.Wait(); close(drained) }()
	return drained
}
