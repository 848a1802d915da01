package eventlog

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
)

// maxDepth matches the nesting limit of encoding/json, so a line this package
// accepts as an engine event is one every JSON reader of events.ndjson accepts.
const maxDepth = 10000

// span is a half-open byte range [start, end) of one JSON value in a line.
type span struct{ start, end int }

func (s span) ok() bool { return s.end > s.start }

// members holds what EngineLine needs from a top-level object, found in the
// one pass that also validates the line. A key that appears twice keeps its
// last occurrence, as encoding/json and Python's json do when they read it.
type members struct {
	open, close int // positions of the outer '{' and '}'
	event       span
	scope       span
	data        span
	context     span
}

// scanObject validates that line is exactly one JSON object (surrounding
// whitespace allowed) and records the spans of its event, scope, data and
// context members. It reports false for anything else: invalid JSON, arrays,
// strings, numbers. Parsing by hand, in a single pass, is what lets the tee
// splice bytes instead of decoding and re-encoding every event.
func scanObject(line []byte, m *members) bool {
	i := skipSpace(line, 0)
	if i >= len(line) || line[i] != '{' {
		return false
	}
	m.open = i
	end := scanObjectAt(line, i, 1, m.record)
	if end < 0 || skipSpace(line, end) != len(line) {
		return false
	}
	m.close = end - 1
	return true
}

func skipSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// scanValue returns the index just past the value starting at b[i], or -1.
func scanValue(b []byte, i, depth int) int {
	if i >= len(b) {
		return -1
	}
	switch c := b[i]; {
	case c == '{':
		return scanObjectAt(b, i, depth+1, nil)
	case c == '[':
		return scanArray(b, i, depth+1)
	case c == '"':
		end, _ := scanString(b, i)
		return end
	case c == 't':
		return scanLiteral(b, i, "true")
	case c == 'f':
		return scanLiteral(b, i, "false")
	case c == 'n':
		return scanLiteral(b, i, "null")
	case c == '-' || (c >= '0' && c <= '9'):
		return scanNumber(b, i)
	}
	return -1
}

func scanLiteral(b []byte, i int, lit string) int {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return -1
	}
	return i + len(lit)
}

// keyFunc is told each member of an object: the raw key with its quotes,
// whether the key holds escapes, and the span of the value.
type keyFunc func(key []byte, escaped bool, v span)

// scanObjectAt scans the object whose '{' is b[i] and returns the index past
// its '}', or -1. When member is non-nil it is called for each member of
// this object (not of nested ones).
func scanObjectAt(b []byte, i, depth int, member keyFunc) int {
	if depth > maxDepth {
		return -1
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return -1
		}
		keyStart := i
		keyEnd, escaped := scanString(b, i)
		if keyEnd < 0 {
			return -1
		}
		i = skipSpace(b, keyEnd)
		if i >= len(b) || b[i] != ':' {
			return -1
		}
		i = skipSpace(b, i+1)
		valStart := i
		valEnd := scanValue(b, i, depth)
		if valEnd < 0 {
			return -1
		}
		if member != nil {
			member(b[keyStart:keyEnd], escaped, span{valStart, valEnd})
		}
		i = skipSpace(b, valEnd)
		if i >= len(b) {
			return -1
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case '}':
			return i + 1
		default:
			return -1
		}
	}
}

func scanArray(b []byte, i, depth int) int {
	if depth > maxDepth {
		return -1
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == ']' {
		return i + 1
	}
	for {
		end := scanValue(b, i, depth)
		if end < 0 {
			return -1
		}
		i = skipSpace(b, end)
		if i >= len(b) {
			return -1
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case ']':
			return i + 1
		default:
			return -1
		}
	}
}

// scanString scans the string whose opening quote is b[i] and returns the
// index past its closing quote (or -1) and whether it holds any escape.
func scanString(b []byte, i int) (int, bool) {
	escaped := false
	i++
	for i < len(b) {
		// Most strings are short: a table lookup per byte is cheapest. A
		// string still going after 16 bytes is scanned 8 bytes at a time.
		end := min(i+16, len(b))
		for i < end && plainByte[b[i]] {
			i++
		}
		if i == end {
			for i+8 <= len(b) && !hasSpecial(binary.LittleEndian.Uint64(b[i:])) {
				i += 8
			}
			for i < len(b) && plainByte[b[i]] {
				i++
			}
		}
		if i >= len(b) {
			break
		}
		c := b[i]
		switch {
		case c == '"':
			return i + 1, escaped
		case c == '\\':
			escaped = true
			if i+1 >= len(b) {
				return -1, false
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+5 >= len(b) || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) {
					return -1, false
				}
				i += 6
			default:
				return -1, false
			}
		case c < 0x20:
			return -1, false
		default:
			i++
		}
	}
	return -1, false
}

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// hasSpecial reports whether any of the eight bytes in x is a control
// character, '"' or '\\': the bytes that end a run of plain string content.
func hasSpecial(x uint64) bool {
	control := (x - 0x20*ones) &^ x
	quote := x ^ ('"' * ones)
	backslash := x ^ ('\\' * ones)
	return (control|(quote-ones)&^quote|(backslash-ones)&^backslash)&highs != 0
}

// plainByte marks the bytes that may appear unescaped inside a JSON string.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func scanNumber(b []byte, i int) int {
	if b[i] == '-' {
		i++
	}
	switch {
	case i >= len(b):
		return -1
	case b[i] == '0':
		i++
	case b[i] >= '1' && b[i] <= '9':
		i = scanDigits(b, i+1)
	default:
		return -1
	}
	if i < len(b) && b[i] == '.' {
		j := scanDigits(b, i+1)
		if j == i+1 {
			return -1
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := scanDigits(b, i)
		if j == i {
			return -1
		}
		i = j
	}
	return i
}

func scanDigits(b []byte, i int) int {
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	return i
}

// keyName returns the text of a raw key. A key spelled with escapes
// ("\u0065vent") still means "event" to every reader, so it is decoded.
func keyName(key []byte, escaped bool) []byte {
	if !escaped {
		return key[1 : len(key)-1]
	}
	var s string
	if json.Unmarshal(key, &s) != nil {
		return nil
	}
	return []byte(s)
}

func (m *members) record(key []byte, escaped bool, v span) {
	switch string(keyName(key, escaped)) {
	case "event":
		m.event = v
	case "scope":
		m.scope = v
	case "data":
		m.data = v
	case "context":
		m.context = v
	}
}

// decodeString returns the text of the JSON string b[s], and false when the
// value is not a string.
func decodeString(b []byte, s span) (string, bool) {
	if !s.ok() || b[s.start] != '"' {
		return "", false
	}
	raw := b[s.start:s.end]
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw[1 : len(raw)-1]), true
	}
	var out string
	if json.Unmarshal(raw, &out) != nil {
		return "", false
	}
	return out, true
}
