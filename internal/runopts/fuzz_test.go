package runopts

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParse checks that Parse never panics, that every failure is a
// readable *Error, and that whatever it accepts makes a command line the
// worker can run: no NUL, a known log level, named sheets winning over the
// active sheet, and the worker's own flags left alone.
func FuzzParse(f *testing.F) {
	f.Add(`{"validate_only": "yes", "log_level": "warn"}`, `["A"]`)
	f.Add(`{"engine_args": "--a 'b c' \"d\\\"e\"", "max_findings_per_sheet": "12"}`, ``)
	f.Add(`{"input_sheet_names": ["-x", "", "-x"], "active_sheet_only": 1}`, `null`)
	f.Add(`[]`, `{}`)
	f.Fuzz(func(t *testing.T, runOptions, sheets string) {
		o, err := Parse(runOptions, sheets)
		if err != nil {
			var optErr *Error
			if !errors.As(err, &optErr) {
				t.Fatalf("error %v (%T) is not a *runopts.Error", err, err)
			}
			if msg := err.Error(); len(msg) > 400 || strings.IndexByte(msg, 0) >= 0 {
				t.Fatalf("message unfit for runs.error_message (%d bytes): %q", len(msg), msg)
			}
			return
		}
		if !slices.Contains([]string{"DEBUG", "INFO", "WARNING", "ERROR"}, o.LogLevel) {
			t.Fatalf("LogLevel = %q", o.LogLevel)
		}
		if len(o.InputSheets) > 0 && o.ActiveSheetOnly {
			t.Fatalf("both sheets %q and active sheet only", o.InputSheets)
		}
		seen := map[string]bool{}
		for _, s := range o.InputSheets {
			if strings.TrimSpace(s) == "" || seen[s] {
				t.Fatalf("blank or duplicate sheet %q in %q", s, o.InputSheets)
			}
			seen[s] = true
		}
		if o.MaxFindingsPerSheet != nil && *o.MaxFindingsPerSheet < 0 {
			t.Fatalf("MaxFindingsPerSheet = %d", *o.MaxFindingsPerSheet)
		}
		args := o.ProcessArgs("/in/x.xlsx", "/out", "/cfg")
		fixed := []string{"-m", "ade_engine", "process", "file", "--input", "/in/x.xlsx", "--output-dir", "/out", "--config-package", "/cfg", "--log-format", "ndjson", "--log-level", o.LogLevel}
		if !slices.Equal(args[:len(fixed)], fixed) {
			t.Fatalf("ProcessArgs starts %q", args[:len(fixed)])
		}
		for _, a := range args {
			if strings.IndexByte(a, 0) >= 0 {
				t.Fatalf("argument with NUL: %q", a)
			}
		}
		for _, a := range o.EngineArgs {
			if overridesReserved(a) != "" {
				t.Fatalf("engine argument %q overrides a worker flag", a)
			}
		}
		if !utf8.ValidString(runOptions) {
			return
		}
		// Parsing is deterministic.
		again, err := Parse(runOptions, sheets)
		if err != nil || !slices.Equal(again.ProcessArgs("i", "o", "c"), o.ProcessArgs("i", "o", "c")) {
			t.Fatalf("second Parse differs: %v", err)
		}
	})
}

// FuzzSplitArgs checks that splitting never panics and that joining the
// result with single quotes splits back to the same arguments.
func FuzzSplitArgs(f *testing.F) {
	f.Add(`a 'b c' "d\"e" f\ g`)
	f.Add("\\\n'\"")
	f.Fuzz(func(t *testing.T, s string) {
		args, err := SplitArgs(s)
		if err != nil {
			return
		}
		quoted := make([]string, len(args))
		for i, a := range args {
			quoted[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		back, err := SplitArgs(strings.Join(quoted, " "))
		if err != nil || !slices.Equal(back, args) {
			t.Fatalf("round trip of %q: %q -> %q (%v)", s, args, back, err)
		}
	})
}
