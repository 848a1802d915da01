package results

import (
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
)

// object is v as a JSON object, or nil; indexing a nil map is safe, which
// keeps the walks short.
func object(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// array is v as a JSON array, or nil.
func array(v any) []any {
	a, _ := v.([]any)
	return a
}

// kind names a decoded JSON value's type for messages.
func kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "an array"
	}
	return "an object"
}

// text reads a string, trimmed; empty is absent. Only a JSON string is
// text, as in the original worker: a number or a boolean where a name is
// expected is absent, not turned into its literal.
func text(v any) *string {
	x, ok := v.(string)
	if !ok {
		return nil
	}
	s := strings.TrimSpace(x)
	if s == "" {
		return nil
	}
	return &s
}

// boolean reads a truth value as the original worker does: a JSON boolean;
// a number, true when it is not zero; or one of the strings 1, true, yes,
// y, on and 0, false, no, n, off, trimmed and in any case. Anything else
// is absent (ok false).
func boolean(v any) (value, ok bool) {
	switch x := v.(type) {
	case bool:
		return x, true
	case json.Number:
		f, err := strconv.ParseFloat(x.String(), 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return false, false
		}
		// A number beyond float64's range is still not zero.
		return f != 0 || err != nil, true
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "1", "true", "yes", "y", "on":
			return true, true
		case "0", "false", "no", "n", "off":
			return false, true
		}
	}
	return false, false
}

// integer reads an int64 from a JSON number or a numeric string: an integer,
// or a number with no fractional part (3.0, 1e3). Booleans, fractions,
// non-finite and out-of-range values are absent.
func integer(v any) (int64, bool) {
	var s string
	switch x := v.(type) {
	case json.Number:
		s = x.String()
	case string:
		s = strings.TrimSpace(x)
	default:
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	switch {
	case err == nil:
		return n, true
	case errors.Is(err, strconv.ErrRange):
		return 0, false // an integer beyond int64; as a float it would round in
	}
	if !isDecimal(s) {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	// -2^63 is exact as a float64 and fits; 2^63 does not.
	if err != nil || f != math.Trunc(f) || f < -(1<<63) || f >= 1<<63 {
		return 0, false
	}
	return int64(f), true
}

// count is a non-negative integer, or nil: a count below zero cannot be
// true, so it is treated as absent rather than stored.
func count(v any) *int64 {
	n, ok := integer(v)
	if !ok || n < 0 {
		return nil
	}
	return &n
}

// countOrZero is count with 0 for absent, for columns that default to 0.
func countOrZero(v any) int64 {
	if n := count(v); n != nil {
		return *n
	}
	return 0
}

// float reads a finite float64 from a JSON number or a numeric string.
func float(v any) *float64 {
	var s string
	switch x := v.(type) {
	case json.Number:
		s = x.String()
	case string:
		s = strings.TrimSpace(x)
		if !isDecimal(s) {
			return nil
		}
	default:
		return nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return nil
	}
	return &f
}

// isDecimal reports whether s is a plain decimal number: an optional sign,
// digits with an optional fraction, and an optional exponent. It keeps out
// what strconv also accepts but no summary means: "Inf", "NaN", hex floats,
// underscores.
func isDecimal(s string) bool {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := 0
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		digits++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			digits++
		}
	}
	if digits == 0 {
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		start := i
		for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		}
		if i == start {
			return false
		}
	}
	return i == len(s)
}
