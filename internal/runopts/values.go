package runopts

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Each option's value, read from the forms Parse accepts.

func toBool(field string, v any) (bool, error) {
	switch x := v.(type) {
	case bool:
		return x, nil
	case json.Number:
		switch f, err := strconv.ParseFloat(x.String(), 64); {
		case err == nil && f == 1:
			return true, nil
		case err == nil && f == 0:
			return false, nil
		}
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "true", "1", "yes", "y", "on":
			return true, nil
		case "false", "0", "no", "n", "off":
			return false, nil
		}
	}
	return false, &Error{Field: field, Reason: "expected true or false, got " + show(v)}
}

func toLogLevel(field string, v any) (string, error) {
	if s, ok := v.(string); ok {
		switch level := strings.ToUpper(strings.TrimSpace(s)); level {
		case "DEBUG", "INFO", "WARNING", "ERROR":
			return level, nil
		case "WARN":
			return "WARNING", nil
		}
	}
	return "", &Error{Field: field, Reason: "expected one of DEBUG, INFO, WARNING, ERROR, got " + show(v)}
}

// toCount reads a non-negative integer from a JSON number or numeric string.
func toCount(field string, v any) (int, error) {
	var text string
	switch x := v.(type) {
	case json.Number:
		text = x.String()
	case string:
		text = strings.TrimSpace(x)
	}
	if n, ok := parseCount(text); ok {
		return n, nil
	}
	return 0, &Error{Field: field, Reason: "expected a non-negative integer, got " + show(v)}
}

func parseCount(text string) (int, bool) {
	if text == "" || strings.ContainsAny(text, "xXpP_") { // no hex or Go literals
		return 0, false
	}
	if n, err := strconv.ParseInt(text, 10, 0); err == nil {
		return int(n), n >= 0
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil || f < 0 || f >= 1<<63 || f != math.Trunc(f) {
		return 0, false // NaN fails the last test, Inf the one before
	}
	return int(f), true
}

// columnSheets reads runs.input_sheet_names, JSON text.
func columnSheets(text string) ([]string, error) {
	v, err := decodeJSON(text)
	if err != nil {
		return nil, &Error{Field: "runs.input_sheet_names", Reason: err.Error()}
	}
	if v == nil {
		return nil, nil
	}
	return toSheets("runs.input_sheet_names", v)
}

func toSheets(field string, v any) ([]string, error) {
	var items []any
	switch x := v.(type) {
	case string:
		items = []any{x}
	case []any:
		items = x
	default:
		return nil, &Error{Field: field, Reason: "expected a list of sheet names, got " + show(v)}
	}
	var sheets []string
	// A map, not a scan of sheets: a hostile list of 200,000 names would
	// otherwise take seconds of CPU to dedupe.
	seen := make(map[string]struct{}, len(items))
	for i, item := range items {
		s, ok := item.(string)
		if !ok {
			return nil, &Error{Field: fmt.Sprintf("%s[%d]", field, i), Reason: "expected a sheet name (a string), got " + show(item)}
		}
		if strings.IndexByte(s, 0) >= 0 {
			return nil, &Error{Field: fmt.Sprintf("%s[%d]", field, i), Reason: "contains a NUL character"}
		}
		if _, dup := seen[s]; dup || strings.TrimSpace(s) == "" {
			continue
		}
		seen[s] = struct{}{}
		sheets = append(sheets, s)
	}
	return sheets, nil
}

func toEngineArgs(field string, v any) ([]string, error) {
	var args []string
	switch x := v.(type) {
	case string:
		var err error
		if args, err = SplitArgs(x); err != nil {
			return nil, &Error{Field: field, Reason: err.Error()}
		}
	case []any:
		for i, item := range x {
			s, ok := item.(string)
			if !ok {
				return nil, &Error{Field: fmt.Sprintf("%s[%d]", field, i), Reason: "expected a string, got " + show(item)}
			}
			args = append(args, s)
		}
	default:
		return nil, &Error{Field: field, Reason: "expected a list of strings, got " + show(v)}
	}
	for i, arg := range args {
		if strings.IndexByte(arg, 0) >= 0 {
			return nil, &Error{Field: fmt.Sprintf("%s[%d]", field, i), Reason: "contains a NUL character"}
		}
		if flag := overridesReserved(arg); flag != "" {
			return nil, &Error{Field: fmt.Sprintf("%s[%d]", field, i), Reason: fmt.Sprintf("%s would override %s, which the worker sets", show(arg), flag)}
		}
	}
	return args, nil
}

// reservedFlags are engine options the worker sets itself and relies on:
// overriding them would hide the input, send the output where the worker
// does not look, or break the NDJSON event stream.
var reservedFlags = []string{"--input", "--output-dir", "--config-package", "--log-format"}

// overridesReserved returns the reserved flag that arg spells or
// abbreviates (the reference engine's argument parser accepts unambiguous
// prefixes), or "".
func overridesReserved(arg string) string {
	name, _, _ := strings.Cut(arg, "=")
	if len(name) <= 2 || !strings.HasPrefix(name, "--") {
		return ""
	}
	for _, flag := range reservedFlags {
		if strings.HasPrefix(flag, name) {
			return flag
		}
	}
	return ""
}
