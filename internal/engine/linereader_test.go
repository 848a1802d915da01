package engine

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
)

type readLine struct {
	line      string
	truncated int64
}

func readAll(t testing.TB, r io.Reader, max int) []readLine {
	t.Helper()
	lr := NewLineReader(r, max)
	var out []readLine
	for {
		line, truncated, err := lr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		out = append(out, readLine{string(line), truncated})
	}
}

func TestLineReader(t *testing.T) {
	cases := []struct {
		name string
		in   string
		max  int
		want []readLine
	}{
		{"empty", "", 10, nil},
		{"lines", "a\nbb\n\nccc\n", 10, []readLine{{"a", 0}, {"bb", 0}, {"", 0}, {"ccc", 0}}},
		{"no final newline", "a\nlast", 10, []readLine{{"a", 0}, {"last", 0}}},
		{"crlf", "a\r\nb\r\n", 10, []readLine{{"a", 0}, {"b", 0}}},
		{"exactly max", "12345\n", 5, []readLine{{"12345", 0}}},
		{"one over max", "123456\nx\n", 5, []readLine{{"12345", 1}, {"x", 0}}},
		{"long unterminated", strings.Repeat("x", 100), 10, []readLine{{strings.Repeat("x", 10), 90}}},
		// "é" is two bytes; a cut through it would leave invalid UTF-8.
		{"cut at rune boundary", "aaaé\n", 4, []readLine{{"aaa", 2}}},
		{"cut after rune", "aaé€\n", 4, []readLine{{"aaé", 3}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, r := range []io.Reader{strings.NewReader(tc.in), iotest.OneByteReader(strings.NewReader(tc.in))} {
				got := readAll(t, r, tc.max)
				if len(got) != len(tc.want) {
					t.Fatalf("got %+v, want %+v", got, tc.want)
				}
				for i := range got {
					if got[i] != tc.want[i] {
						t.Errorf("line %d = %+v, want %+v", i, got[i], tc.want[i])
					}
				}
			}
		})
	}
}

func TestLineReaderError(t *testing.T) {
	boom := errors.New("boom")
	lr := NewLineReader(io.MultiReader(strings.NewReader("a\npartial"), iotest.ErrReader(boom)), 100)
	for _, want := range []string{"a", "partial"} {
		line, _, err := lr.Next()
		if err != nil || string(line) != want {
			t.Fatalf("Next = %q, %v; want %q", line, err, want)
		}
	}
	for range 2 {
		if _, _, err := lr.Next(); !errors.Is(err, boom) {
			t.Fatalf("err = %v, want boom", err)
		}
	}
}

// TestLineReaderHugeLineIsBounded reads a 50 MB line and checks the memory
// it costs does not grow with the line.
func TestLineReaderHugeLineIsBounded(t *testing.T) {
	const size = 50 << 20
	read := func() {
		huge := io.MultiReader(io.LimitReader(repeatReader('x'), size), strings.NewReader("\nnext\n"))
		lr := NewLineReader(huge, DefaultMaxLine)
		line, truncated, err := lr.Next()
		if err != nil || len(line) != DefaultMaxLine || truncated != size-DefaultMaxLine {
			t.Fatalf("Next = %d bytes, truncated %d, %v", len(line), truncated, err)
		}
		if line, _, err := lr.Next(); err != nil || string(line) != "next" {
			t.Fatalf("Next after huge line = %q, %v", line, err)
		}
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	read()
	runtime.ReadMemStats(&after)
	if grown := after.TotalAlloc - before.TotalAlloc; grown > 4*DefaultMaxLine {
		t.Fatalf("reading a 50 MB line allocated %d bytes", grown)
	}
	if allocs := testing.AllocsPerRun(2, read); allocs > 50 {
		t.Fatalf("reading a 50 MB line took %v allocations", allocs)
	}
}

type repeatReader byte

func (r repeatReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r)
	}
	return len(p), nil
}

// chunkReader returns its data in reads of the sizes given, cycling.
type chunkReader struct {
	data  []byte
	sizes []byte
	n     int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	size := 1
	if len(c.sizes) > 0 {
		size = int(c.sizes[c.n%len(c.sizes)]) + 1
		c.n++
	}
	size = min(size, len(p), len(c.data))
	copy(p, c.data[:size])
	c.data = c.data[size:]
	return size, nil
}

// FuzzLineReader checks that, for any input, chunking and limit, every line
// is what splitting the input on "\n" gives: whole (less a final "\r") when
// it fits, else a prefix no longer than max plus an exact count of what was
// dropped.
func FuzzLineReader(f *testing.F) {
	f.Add([]byte("a\nb\r\n\nlong line here\n"), uint16(4), []byte{0, 3, 7})
	f.Add([]byte("no newline at end"), uint16(100), []byte{})
	f.Add([]byte("é€𝄞\n\xff\xfe\n"), uint16(3), []byte{1})
	f.Fuzz(func(t *testing.T, in []byte, max uint16, sizes []byte) {
		limit := int(max%512) + 1
		got := readAll(t, &chunkReader{data: in, sizes: sizes}, limit)
		var want [][]byte
		if len(in) > 0 {
			want = bytes.Split(bytes.TrimSuffix(in, []byte("\n")), []byte("\n"))
		}
		if len(got) != len(want) {
			t.Fatalf("got %d lines, want %d", len(got), len(want))
		}
		for i, raw := range want {
			g := got[i]
			if len(g.line) > limit {
				t.Fatalf("line %d has %d bytes, over the limit %d", i, len(g.line), limit)
			}
			if g.truncated == 0 {
				if w := string(bytes.TrimSuffix(raw, []byte("\r"))); g.line != w {
					t.Fatalf("line %d = %q, want %q", i, g.line, w)
				}
				continue
			}
			if !bytes.HasPrefix(raw, []byte(g.line)) || int64(len(g.line))+g.truncated != int64(len(raw)) {
				t.Fatalf("truncated line %d = %q + %d dropped, want a prefix of %q", i, g.line, g.truncated, raw)
			}
			if len(raw) <= limit {
				t.Fatalf("line %d of %d bytes truncated under limit %d", i, len(raw), limit)
			}
		}
	})
}
