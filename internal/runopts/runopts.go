// Package runopts reads a run's options (runs.run_options and
// runs.input_sheet_names) and turns them into the engine's command line.
//
// Parsing is lenient about spelling, so the API and older rows keep working,
// and strict about meaning: a value that cannot be understood fails the run
// with a message naming the key, rather than being silently dropped and
// running something the user did not ask for.
package runopts

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Options are a run's options after parsing.
type Options struct {
	// ValidateOnly runs `ade_engine config validate` instead of processing.
	ValidateOnly bool
	// DryRun skips the engine: the run succeeds at once.
	DryRun bool
	// LogLevel is the engine's --log-level: DEBUG, INFO, WARNING or ERROR.
	LogLevel string
	// LogLevelSet says the run named its log level; otherwise the caller
	// may put the worker's own level in its place, as the original worker
	// did.
	LogLevelSet bool
	// InputSheets are the sheets to process, in order, without duplicates;
	// empty means the engine's default (every sheet).
	InputSheets []string
	// ActiveSheetOnly processes only the workbook's active sheet. It is
	// false whenever InputSheets names a sheet: named sheets win.
	ActiveSheetOnly bool
	// MaxFindingsPerSheet caps findings per sheet; nil leaves the engine's
	// default.
	MaxFindingsPerSheet *int
	// EngineArgs are appended to the engine's command line as given.
	EngineArgs []string
}

// Error is a run option that cannot be understood. Its message is meant for
// runs.error_message, e.g.
// `run_options.max_findings_per_sheet: expected a non-negative integer, got "abc"`.
type Error struct {
	Field  string // e.g. "run_options.log_level" or "runs.input_sheet_names"
	Reason string
}

func (e *Error) Error() string { return e.Field + ": " + e.Reason }

// DefaultLogLevel is the engine's log level when the run names none.
const DefaultLogLevel = "INFO"

// reservedFlags are engine options the worker sets itself and relies on:
// overriding them would hide the input, send the output where the worker
// does not look, or break the NDJSON event stream.
var reservedFlags = []string{"--input", "--output-dir", "--config-package", "--log-format"}

// Parse reads runs.run_options and runs.input_sheet_names.
//
// run_options is a JSON object, or empty or "null" for none. Its keys are
// all optional, and unknown keys are ignored so newer API versions can add
// some; a key whose value is null counts as absent. Aliases:
// validation_only for validate_only, extra_args for engine_args; when both
// spellings are present the first-named one wins.
//
//   - Booleans (validate_only, dry_run, active_sheet_only): JSON true/false,
//     the numbers 1/0, or the strings true/false, 1/0, yes/no, y/n, on/off
//     in any case.
//   - log_level: DEBUG, INFO, WARNING (or WARN) or ERROR in any case;
//     default INFO.
//   - max_findings_per_sheet: a non-negative integer, as a JSON number
//     (1e3 and 5.0 are integers) or a numeric string.
//   - input_sheet_names: a list of strings, or one string for one sheet.
//     When it names no sheet, runs.input_sheet_names (same forms, as JSON
//     text) is used. Blank names are dropped and duplicates kept once.
//   - engine_args: a list of strings, or one string split like a POSIX shell
//     would (quotes and backslashes, no variables, globs or substitutions).
//     Arguments that would override --input, --output-dir, --config-package
//     or --log-format (or an abbreviation of them) are refused.
//
// Wrong types, invalid JSON, a non-object, and NUL characters anywhere give
// an *Error.
func Parse(runOptions, inputSheetNames string) (Options, error) {
	opts := Options{LogLevel: DefaultLogLevel}

	obj, err := decodeObject(runOptions)
	if err != nil {
		return Options{}, err
	}

	if v, key := lookup(obj, "validate_only", "validation_only"); key != "" {
		if opts.ValidateOnly, err = toBool(key, v); err != nil {
			return Options{}, err
		}
	}
	if v, key := lookup(obj, "dry_run"); key != "" {
		if opts.DryRun, err = toBool(key, v); err != nil {
			return Options{}, err
		}
	}
	if v, key := lookup(obj, "log_level"); key != "" {
		if opts.LogLevel, err = toLogLevel(key, v); err != nil {
			return Options{}, err
		}
		opts.LogLevelSet = v != nil
	}
	if v, key := lookup(obj, "active_sheet_only"); key != "" {
		if opts.ActiveSheetOnly, err = toBool(key, v); err != nil {
			return Options{}, err
		}
	}
	if v, key := lookup(obj, "max_findings_per_sheet"); key != "" {
		n, err := toCount(key, v)
		if err != nil {
			return Options{}, err
		}
		opts.MaxFindingsPerSheet = &n
	}
	if v, key := lookup(obj, "input_sheet_names"); key != "" {
		if opts.InputSheets, err = toSheets(key, v); err != nil {
			return Options{}, err
		}
	}
	if len(opts.InputSheets) == 0 {
		if opts.InputSheets, err = columnSheets(inputSheetNames); err != nil {
			return Options{}, err
		}
	}
	if len(opts.InputSheets) > 0 {
		opts.ActiveSheetOnly = false
	}
	if v, key := lookup(obj, "engine_args", "extra_args"); key != "" {
		if opts.EngineArgs, err = toEngineArgs(key, v); err != nil {
			return Options{}, err
		}
	}
	// Keys read above report a NUL with their name; this catches the rest,
	// such as an unknown key, so a NUL is refused wherever it hides.
	if hasNUL(obj) {
		return Options{}, &Error{Field: "run_options", Reason: "contains a NUL character"}
	}
	return opts, nil
}

// hasNUL reports whether any key or string inside v holds a NUL.
func hasNUL(v any) bool {
	switch x := v.(type) {
	case string:
		return strings.IndexByte(x, 0) >= 0
	case []any:
		return slices.ContainsFunc(x, hasNUL)
	case map[string]any:
		for k, item := range x {
			if strings.IndexByte(k, 0) >= 0 || hasNUL(item) {
				return true
			}
		}
	}
	return false
}

// decodeObject decodes run_options, keeping numbers as json.Number so no
// precision is lost before they are checked.
func decodeObject(text string) (map[string]any, error) {
	v, err := decodeJSON(text)
	if err != nil {
		return nil, &Error{Field: "run_options", Reason: err.Error()}
	}
	switch x := v.(type) {
	case nil:
		return nil, nil
	case map[string]any:
		return x, nil
	}
	return nil, &Error{Field: "run_options", Reason: "expected a JSON object, got " + kind(v)}
}

// decodeJSON decodes one JSON value; empty text is null.
func decodeJSON(text string) (any, error) {
	if strings.TrimSpace(text) == "" {
		return nil, nil
	}
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("is not valid JSON: %s", jsonReason(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("is not valid JSON: unexpected data after the value")
	}
	return v, nil
}

// jsonReason is a decoding error without Go type names.
func jsonReason(err error) string {
	var syntax *json.SyntaxError
	if errors.As(err, &syntax) {
		return fmt.Sprintf("%s (at byte %d)", syntax.Error(), syntax.Offset)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return "unexpected end of input"
	}
	return err.Error()
}

// lookup returns the value of the first key present with a non-null value,
// and that key prefixed for messages; key is "" when none is.
func lookup(obj map[string]any, keys ...string) (v any, key string) {
	for _, k := range keys {
		if v, ok := obj[k]; ok && v != nil {
			return v, "run_options." + k
		}
	}
	return nil, ""
}

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

// kind names a JSON value's type for messages.
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
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// maxShown bounds how much of a value is repeated in a message.
const maxShown = 60

// show renders a value for a message: strings quoted, numbers as written,
// containers by kind, all cut short.
func show(v any) string {
	switch x := v.(type) {
	case string:
		if len(x) > maxShown {
			cut := maxShown
			for cut > 0 && !utf8.RuneStart(x[cut]) {
				cut--
			}
			return strconv.Quote(x[:cut]) + "..."
		}
		return strconv.Quote(x)
	case json.Number:
		if len(x) > maxShown {
			return "a number"
		}
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	case nil:
		return "null"
	}
	return kind(v)
}
