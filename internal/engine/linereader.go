package engine

import (
	"bufio"
	"errors"
	"io"
	"sync"
	"unicode/utf8"
)

// readBufferSize is how much of a stream is read at once; a line that fits
// in it is returned without being copied.
const readBufferSize = 64 << 10

// LineReader splits a stream into lines while holding at most max bytes of
// any one line: the rest of a longer line is counted and discarded as it is
// read, so an engine printing a 50 MB line costs no 50 MB buffer.
type LineReader struct {
	br   *bufio.Reader
	max  int
	line []byte // holds a line that spans more than one read
	err  error  // sticky error, returned once buffered lines are out

	// longMax and keepLonger: see AllowLonger.
	longMax    int
	keepLonger func(head []byte) bool

	pooled bool // br came from readers
}

// readers keeps read buffers of readBufferSize between subprocesses: every
// run reads two streams, and their buffers would otherwise be garbage the
// moment it ends.
var readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, readBufferSize) }}

// NewLineReader reads lines from r, keeping at most max bytes of each (max
// below 1 is taken as 1). Release gives its buffer back once it is done.
func NewLineReader(r io.Reader, max int) *LineReader {
	if max < 1 {
		max = 1
	}
	if max+1 < readBufferSize {
		return &LineReader{br: bufio.NewReaderSize(r, max+1), max: max}
	}
	br := readers.Get().(*bufio.Reader)
	br.Reset(r)
	return &LineReader{br: br, max: max, pooled: true}
}

// Release returns the reader's buffer for reuse. The LineReader, and every
// line it returned, must not be used afterwards.
func (lr *LineReader) Release() {
	if lr.pooled {
		lr.pooled = false
		lr.br.Reset(nil)
		readers.Put(lr.br)
	}
	lr.br = nil
}

// AllowLonger lets a line grow to longMax bytes instead of max when keep,
// shown the line's first max bytes once it outgrows them, says it is worth
// it (a run summary, which grows with the workbook). A line that outgrows
// longMax too is truncated back to max bytes, as any other long line.
func (lr *LineReader) AllowLonger(longMax int, keep func(head []byte) bool) {
	if longMax > lr.max && keep != nil {
		lr.longMax, lr.keepLonger = longMax, keep
	}
}

// Next returns the next line without its "\n" (nor a "\r" before it), and
// how many bytes of the line were dropped because it was longer than max.
// A truncated line is cut at a UTF-8 character boundary, so it may hold a
// few bytes less than max. The line is valid until the next call. At the end
// of the stream Next returns io.EOF, or the read error that stopped it, after
// any final line that had no newline.
func (lr *LineReader) Next() (line []byte, truncated int64, err error) {
	if lr.err != nil {
		return nil, 0, lr.err
	}
	lr.line = lr.line[:0]
	var dropped int64
	first := true
	limit := lr.max
	for {
		chunk, err := lr.br.ReadSlice('\n')
		complete := err == nil
		if complete {
			chunk = chunk[:len(chunk)-1]
			if first && len(chunk) <= lr.max {
				// The common case: the whole line is in the read buffer.
				return trimCR(chunk), 0, nil
			}
		}
		first = false
		if dropped == 0 {
			room := limit - len(lr.line)
			if len(chunk) > room && limit == lr.max && lr.keepLonger != nil {
				head := append(lr.line, chunk[:room]...)
				if lr.keepLonger(head) {
					lr.line = head
					chunk = chunk[room:]
					limit = lr.longMax
					room = limit - len(lr.line)
				}
			}
			lr.grow(min(len(chunk), room), limit)
			if len(chunk) <= room {
				lr.line = append(lr.line, chunk...)
			} else {
				lr.line = append(lr.line, chunk[:room]...)
				dropped = int64(len(chunk) - room)
				if len(lr.line) > lr.max {
					// Too long even for the exception: keep what any
					// long line keeps.
					dropped += int64(len(lr.line) - lr.max)
					lr.line = lr.line[:lr.max]
				}
				cut := runeBoundary(lr.line)
				dropped += int64(len(lr.line) - cut)
				lr.line = lr.line[:cut]
			}
		} else {
			dropped += int64(len(chunk))
		}
		switch {
		case complete:
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		default:
			lr.err = err
			if len(lr.line) == 0 && dropped == 0 {
				return nil, 0, err
			}
		}
		if dropped == 0 {
			return trimCR(lr.line), 0, nil
		}
		return lr.line, dropped, nil
	}
}

// grow makes room for n more bytes in the line buffer, doubling it but
// never past limit: the buffer is kept for later lines, so its size is paid
// once per stream.
func (lr *LineReader) grow(n, limit int) {
	need := len(lr.line) + n
	if need <= cap(lr.line) {
		return
	}
	size := min(max(2*cap(lr.line), need, 4<<10), limit)
	line := make([]byte, len(lr.line), size)
	copy(line, lr.line)
	lr.line = line
}

func trimCR(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\r' {
		return b[:n-1]
	}
	return b
}

// runeBoundary returns the length of b without a UTF-8 sequence cut short at
// its end.
func runeBoundary(b []byte) int {
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) {
				return i
			}
			return len(b)
		}
	}
	return len(b)
}
