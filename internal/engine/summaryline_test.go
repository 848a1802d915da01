package engine

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
)

// TestLineReaderAllowLonger: a long line whose head passes the test is kept
// whole up to the longer bound; other long lines, and one beyond that
// bound, keep only the usual max bytes.
func TestLineReaderAllowLonger(t *testing.T) {
	const max, longMax = 1 << 10, 8 << 10
	summary := `{"event":"engine.run.completed","data":{"x":"` + strings.Repeat("a", 4<<10) + `"}}`
	plain := strings.Repeat("b", 4<<10)
	huge := `{"event":"engine.run.completed","data":"` + strings.Repeat("c", 10<<10) + `"}`
	input := summary + "\n" + plain + "\r\n" + huge + "\n" + "short\n"

	lr := NewLineReader(strings.NewReader(input), max)
	lr.AllowLonger(longMax, looksLikeSummary)
	want := []struct {
		line    string
		dropped int64
	}{
		{summary, 0},
		{plain[:max], int64(len(plain) + 1 - max)}, // the \r is dropped with the rest
		{huge[:max], int64(len(huge) - max)},
		{"short", 0},
	}
	for i, w := range want {
		line, dropped, err := lr.Next()
		if err != nil {
			t.Fatalf("line %d: %v", i, err)
		}
		if string(line) != w.line || dropped != w.dropped {
			t.Fatalf("line %d: %d bytes, %d dropped; want %d bytes, %d dropped", i, len(line), dropped, len(w.line), w.dropped)
		}
	}
	if _, _, err := lr.Next(); !errors.Is(err, io.EOF) {
		t.Fatalf("after the last line: %v", err)
	}
}

// TestRunKeepsALongSummary: an engine.run.completed event longer than
// MaxLine (a wide workbook's summary) still reaches Result.Completed whole,
// while a plain line as long is cut.
func TestRunKeepsALongSummary(t *testing.T) {
	script := `printf '%s' '{"event":"engine.run.completed","data":{"x":"'; head -c 3000000 /dev/zero | tr '\0' a; printf '"}}\n'
head -c 3000000 /dev/zero | tr '\0' b; echo`
	res, err := Run(context.Background(), Spec{Path: "/bin/sh", Args: []string{"-c", script}})
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 0 {
		t.Fatalf("exit %d: %q", res.ExitCode, res.Tail)
	}
	if res.Completed == nil {
		t.Fatal("the 3 MB summary was not read as an event")
	}
	if n := len(res.Completed.Data); n != 3000000+len(`{"x":""}`) {
		t.Fatalf("summary data of %d bytes", n)
	}
}

// FuzzLineReaderAllowLonger checks AllowLonger against splitting on "\n":
// a line is kept whole when it fits max, or when it starts with "{" (the
// test's stand-in for a summary) and fits longMax; any other line keeps a
// prefix of at most max bytes and counts exactly what it dropped.
func FuzzLineReaderAllowLonger(f *testing.F) {
	f.Add([]byte("{aaaaaaaa\nbbbbbbbbb\n{cccccccccccccccccccc\n"), uint16(4), uint16(12), []byte{0, 5})
	f.Add([]byte("{é€𝄞é€𝄞\r\n"), uint16(3), uint16(9), []byte{2})
	f.Fuzz(func(t *testing.T, in []byte, max, longMax uint16, sizes []byte) {
		limit, long := int(max%256)+1, int(longMax%1024)+1
		lr := NewLineReader(&chunkReader{data: in, sizes: sizes}, limit)
		lr.AllowLonger(long, func(head []byte) bool { return len(head) > 0 && head[0] == '{' })
		var want [][]byte
		if len(in) > 0 {
			want = bytes.Split(bytes.TrimSuffix(in, []byte("\n")), []byte("\n"))
		}
		for i, w := range want {
			line, dropped, err := lr.Next()
			if err != nil {
				t.Fatalf("line %d: %v", i, err)
			}
			whole := bytes.TrimSuffix(w, []byte("\r"))
			keep := limit
			if len(w) > 0 && w[0] == '{' && long > limit {
				keep = long
			}
			if len(w) <= keep {
				if !bytes.Equal(line, whole) || dropped != 0 {
					t.Fatalf("line %d: got %q (%d dropped), want %q whole", i, line, dropped, whole)
				}
				continue
			}
			if len(line) > limit || !bytes.HasPrefix(w, line) || int64(len(line))+dropped != int64(len(w)) {
				t.Fatalf("line %d of %d bytes: kept %d, dropped %d (limit %d)", i, len(w), len(line), dropped, limit)
			}
		}
		if _, _, err := lr.Next(); !errors.Is(err, io.EOF) {
			t.Fatalf("after %d lines: %v", len(want), err)
		}
	})
}
