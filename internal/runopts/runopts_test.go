package runopts

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func intp(n int) *int { return &n }

func TestParse(t *testing.T) {
	def := func(mod func(*Options)) Options {
		o := Options{LogLevel: "INFO"}
		if mod != nil {
			mod(&o)
		}
		return o
	}
	tests := []struct {
		name    string
		options string
		sheets  string
		want    Options
	}{
		{"empty", "", "", def(nil)},
		{"blank", "  \n", " ", def(nil)},
		{"null", "null", "null", def(nil)},
		{"empty object", "{}", "[]", def(nil)},
		{"unknown keys ignored", `{"future_option": {"x": [1]}, "another": true}`, "", def(nil)},
		{"null values are absent", `{"validate_only": null, "log_level": null, "max_findings_per_sheet": null, "engine_args": null, "input_sheet_names": null}`, "", def(nil)},

		{"validate_only true", `{"validate_only": true}`, "", def(func(o *Options) { o.ValidateOnly = true })},
		{"validation_only alias", `{"validation_only": "yes"}`, "", def(func(o *Options) { o.ValidateOnly = true })},
		{"validate_only wins over alias", `{"validate_only": false, "validation_only": true}`, "", def(nil)},
		{"dry_run 1", `{"dry_run": 1}`, "", def(func(o *Options) { o.DryRun = true })},
		{"dry_run 0", `{"dry_run": 0}`, "", def(nil)},
		{"dry_run 1.0", `{"dry_run": 1.0}`, "", def(func(o *Options) { o.DryRun = true })},
		{"dry_run ON", `{"dry_run": " ON "}`, "", def(func(o *Options) { o.DryRun = true })},
		{"dry_run off", `{"dry_run": "off"}`, "", def(nil)},
		{"dry_run False", `{"dry_run": "False"}`, "", def(nil)},
		{"dry_run n", `{"dry_run": "n"}`, "", def(nil)},

		{"log_level lower", `{"log_level": "debug"}`, "", def(func(o *Options) { o.LogLevel, o.LogLevelSet = "DEBUG", true })},
		{"log_level warn", `{"log_level": "Warn"}`, "", def(func(o *Options) { o.LogLevel, o.LogLevelSet = "WARNING", true })},
		{"log_level warning", `{"log_level": " warning "}`, "", def(func(o *Options) { o.LogLevel, o.LogLevelSet = "WARNING", true })},
		{"log_level error", `{"log_level": "ERROR"}`, "", def(func(o *Options) { o.LogLevel, o.LogLevelSet = "ERROR", true })},

		{"max findings int", `{"max_findings_per_sheet": 25}`, "", def(func(o *Options) { o.MaxFindingsPerSheet = intp(25) })},
		{"max findings zero", `{"max_findings_per_sheet": 0}`, "", def(func(o *Options) { o.MaxFindingsPerSheet = intp(0) })},
		{"max findings string", `{"max_findings_per_sheet": " 7 "}`, "", def(func(o *Options) { o.MaxFindingsPerSheet = intp(7) })},
		{"max findings integral float", `{"max_findings_per_sheet": 5.0}`, "", def(func(o *Options) { o.MaxFindingsPerSheet = intp(5) })},
		{"max findings exponent", `{"max_findings_per_sheet": 1e3}`, "", def(func(o *Options) { o.MaxFindingsPerSheet = intp(1000) })},
		{"max findings exponent string", `{"max_findings_per_sheet": "2E2"}`, "", def(func(o *Options) { o.MaxFindingsPerSheet = intp(200) })},

		{"sheets from options", `{"input_sheet_names": ["A", "B"]}`, `["C"]`, def(func(o *Options) { o.InputSheets = []string{"A", "B"} })},
		{"sheets from column", `{}`, `["C", "D"]`, def(func(o *Options) { o.InputSheets = []string{"C", "D"} })},
		{"sheets from column without options", "", `["C"]`, def(func(o *Options) { o.InputSheets = []string{"C"} })},
		{"empty options list falls back to column", `{"input_sheet_names": []}`, `["C"]`, def(func(o *Options) { o.InputSheets = []string{"C"} })},
		{"single string sheet", `{"input_sheet_names": "Summary"}`, "", def(func(o *Options) { o.InputSheets = []string{"Summary"} })},
		{"single string column", "", `"Summary"`, def(func(o *Options) { o.InputSheets = []string{"Summary"} })},
		{"blank and duplicate sheets", `{"input_sheet_names": ["A", "", "  ", "A", " A", "B"]}`, "", def(func(o *Options) { o.InputSheets = []string{"A", " A", "B"} })},
		{"unicode sheet", `{"input_sheet_names": ["Übersicht 2024", "\u00e9t\u00e9"]}`, "", def(func(o *Options) { o.InputSheets = []string{"Übersicht 2024", "été"} })},

		{"active sheet only", `{"active_sheet_only": true}`, "", def(func(o *Options) { o.ActiveSheetOnly = true })},
		{"named sheets win over active", `{"active_sheet_only": true, "input_sheet_names": ["A"]}`, "", def(func(o *Options) { o.InputSheets = []string{"A"} })},
		{"column sheets win over active", `{"active_sheet_only": "1"}`, `["A"]`, def(func(o *Options) { o.InputSheets = []string{"A"} })},

		{"engine args list", `{"engine_args": ["--strict", "--sample-rows", "50"]}`, "", def(func(o *Options) { o.EngineArgs = []string{"--strict", "--sample-rows", "50"} })},
		{"extra_args alias", `{"extra_args": ["--strict"]}`, "", def(func(o *Options) { o.EngineArgs = []string{"--strict"} })},
		{"engine_args wins over alias", `{"engine_args": ["--a"], "extra_args": ["--b"]}`, "", def(func(o *Options) { o.EngineArgs = []string{"--a"} })},
		{"engine args string split", `{"engine_args": "--label 'two words' --x=\"a b\" plain\\ space"}`, "", def(func(o *Options) { o.EngineArgs = []string{"--label", "two words", "--x=a b", "plain space"} })},
		{"engine args single token", `{"engine_args": "--strict"}`, "", def(func(o *Options) { o.EngineArgs = []string{"--strict"} })},
		{"engine args empty string", `{"engine_args": ""}`, "", def(nil)},
		{"engine args input-sheet allowed", `{"engine_args": ["--input-sheet", "X", "--log-level", "DEBUG"]}`, "", def(func(o *Options) { o.EngineArgs = []string{"--input-sheet", "X", "--log-level", "DEBUG"} })},
		{"engine args empty list", `{"engine_args": []}`, "", def(nil)},

		{"everything", `{"validate_only": "no", "dry_run": false, "log_level": "debug", "active_sheet_only": false, "max_findings_per_sheet": "3", "input_sheet_names": ["S1"], "engine_args": ["--x"]}`, `["ignored"]`,
			Options{LogLevel: "DEBUG", LogLevelSet: true, InputSheets: []string{"S1"}, MaxFindingsPerSheet: intp(3), EngineArgs: []string{"--x"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.options, tt.sheets)
			if err != nil {
				t.Fatalf("Parse(%q, %q): %v", tt.options, tt.sheets, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse(%q, %q)\n got %+v\nwant %+v", tt.options, tt.sheets, got, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, options, sheets string
		want                  string // the exact message
	}{
		{"not JSON", `{validate_only: true}`, "", `run_options: is not valid JSON: invalid character 'v' looking for beginning of object key string (at byte 2)`},
		{"truncated", `{"dry_run": tr`, "", `run_options: is not valid JSON: unexpected end of input`},
		{"bad literal", `{"dry_run": tru }`, "", `run_options: is not valid JSON: invalid character ' ' in literal true (expecting 'e') (at byte 16)`},
		{"unterminated", `{"dry_run": true`, "", `run_options: is not valid JSON: unexpected end of input`},
		{"trailing data", `{} {}`, "", `run_options: is not valid JSON: unexpected data after the value`},
		{"array", `[1, 2]`, "", `run_options: expected a JSON object, got a list`},
		{"string", `"dry_run"`, "", `run_options: expected a JSON object, got a string`},
		{"number", `42`, "", `run_options: expected a JSON object, got a number`},
		{"raw NUL", "{\"dry_run\": true}\x00", "", `run_options: is not valid JSON: unexpected data after the value`},

		{"bool wrong string", `{"dry_run": "maybe"}`, "", `run_options.dry_run: expected true or false, got "maybe"`},
		{"bool two", `{"dry_run": 2}`, "", `run_options.dry_run: expected true or false, got 2`},
		{"bool list", `{"validate_only": [true]}`, "", `run_options.validate_only: expected true or false, got a list`},
		{"bool alias named", `{"validation_only": "sure"}`, "", `run_options.validation_only: expected true or false, got "sure"`},
		{"active sheet wrong", `{"active_sheet_only": {}}`, "", `run_options.active_sheet_only: expected true or false, got an object`},

		{"log level unknown", `{"log_level": "verbose"}`, "", `run_options.log_level: expected one of DEBUG, INFO, WARNING, ERROR, got "verbose"`},
		{"log level number", `{"log_level": 10}`, "", `run_options.log_level: expected one of DEBUG, INFO, WARNING, ERROR, got 10`},
		{"log level critical", `{"log_level": "CRITICAL"}`, "", `run_options.log_level: expected one of DEBUG, INFO, WARNING, ERROR, got "CRITICAL"`},

		{"max findings text", `{"max_findings_per_sheet": "abc"}`, "", `run_options.max_findings_per_sheet: expected a non-negative integer, got "abc"`},
		{"max findings negative", `{"max_findings_per_sheet": -1}`, "", `run_options.max_findings_per_sheet: expected a non-negative integer, got -1`},
		{"max findings negative string", `{"max_findings_per_sheet": "-3"}`, "", `run_options.max_findings_per_sheet: expected a non-negative integer, got "-3"`},
		{"max findings fraction", `{"max_findings_per_sheet": 2.5}`, "", `run_options.max_findings_per_sheet: expected a non-negative integer, got 2.5`},
		{"max findings bool", `{"max_findings_per_sheet": true}`, "", `run_options.max_findings_per_sheet: expected a non-negative integer, got true`},
		{"max findings huge", `{"max_findings_per_sheet": 1e30}`, "", `run_options.max_findings_per_sheet: expected a non-negative integer, got 1e30`},
		{"max findings hex", `{"max_findings_per_sheet": "0x10"}`, "", `run_options.max_findings_per_sheet: expected a non-negative integer, got "0x10"`},
		{"max findings NaN", `{"max_findings_per_sheet": "NaN"}`, "", `run_options.max_findings_per_sheet: expected a non-negative integer, got "NaN"`},
		{"max findings Inf", `{"max_findings_per_sheet": "Inf"}`, "", `run_options.max_findings_per_sheet: expected a non-negative integer, got "Inf"`},
		{"max findings empty", `{"max_findings_per_sheet": ""}`, "", `run_options.max_findings_per_sheet: expected a non-negative integer, got ""`},

		{"sheets number", `{"input_sheet_names": 3}`, "", `run_options.input_sheet_names: expected a list of sheet names, got 3`},
		{"sheets object", `{"input_sheet_names": {"a": 1}}`, "", `run_options.input_sheet_names: expected a list of sheet names, got an object`},
		{"sheet not string", `{"input_sheet_names": ["A", 2]}`, "", `run_options.input_sheet_names[1]: expected a sheet name (a string), got 2`},
		{"sheet null", `{"input_sheet_names": [null]}`, "", `run_options.input_sheet_names[0]: expected a sheet name (a string), got null`},
		{"sheet NUL", `{"input_sheet_names": ["A\u0000B"]}`, "", `run_options.input_sheet_names[0]: contains a NUL character`},
		{"NUL in an unknown key", `{"future\u0000": 1}`, "", `run_options: contains a NUL character`},
		{"NUL in an unknown value", `{"future": {"x": ["a\u0000"]}}`, "", `run_options: contains a NUL character`},
		{"column NUL", "", `["A\u0000"]`, `runs.input_sheet_names[0]: contains a NUL character`},
		{"column not JSON", "", `Sheet1`, `runs.input_sheet_names: is not valid JSON: invalid character 'S' looking for beginning of value (at byte 1)`},
		{"column object", "", `{"a": "b"}`, `runs.input_sheet_names: expected a list of sheet names, got an object`},
		{"column item", "", `[true]`, `runs.input_sheet_names[0]: expected a sheet name (a string), got true`},

		{"args object", `{"engine_args": {"x": 1}}`, "", `run_options.engine_args: expected a list of strings, got an object`},
		{"args number item", `{"engine_args": ["--n", 5]}`, "", `run_options.engine_args[1]: expected a string, got 5`},
		{"args alias item", `{"extra_args": [false]}`, "", `run_options.extra_args[0]: expected a string, got false`},
		{"args NUL", `{"engine_args": ["--a\u0000"]}`, "", `run_options.engine_args[0]: contains a NUL character`},
		{"args NUL in string", `{"engine_args": "--a \u0000b"}`, "", `run_options.engine_args[1]: contains a NUL character`},
		{"args unterminated", `{"engine_args": "--label 'oops"}`, "", `run_options.engine_args: unterminated ' quote`},
		{"args lone backslash", `{"engine_args": "--x \\"}`, "", `run_options.engine_args: ends with a lone backslash`},
		{"args output dir", `{"engine_args": ["--output-dir", "/tmp"]}`, "", `run_options.engine_args[0]: "--output-dir" would override --output-dir, which the worker sets`},
		{"args output dir equals", `{"engine_args": ["--output-dir=/tmp"]}`, "", `run_options.engine_args[0]: "--output-dir=/tmp" would override --output-dir, which the worker sets`},
		{"args abbreviation", `{"engine_args": "--x --out /tmp"}`, "", `run_options.engine_args[1]: "--out" would override --output-dir, which the worker sets`},
		{"args input", `{"engine_args": ["--input", "/etc/passwd"]}`, "", `run_options.engine_args[0]: "--input" would override --input, which the worker sets`},
		{"args log format", `{"engine_args": ["--log-format=text"]}`, "", `run_options.engine_args[0]: "--log-format=text" would override --log-format, which the worker sets`},
		{"args config package", `{"engine_args": ["--config"]}`, "", `run_options.engine_args[0]: "--config" would override --config-package, which the worker sets`},

		{"long value is cut", `{"log_level": "` + strings.Repeat("x", 500) + `"}`, "", `run_options.log_level: expected one of DEBUG, INFO, WARNING, ERROR, got "` + strings.Repeat("x", 60) + `"...`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.options, tt.sheets)
			var optErr *Error
			if !errors.As(err, &optErr) {
				t.Fatalf("Parse(%q, %q) = %+v, %v; want a *runopts.Error", tt.options, tt.sheets, got, err)
			}
			if err.Error() != tt.want {
				t.Errorf("message\n got %s\nwant %s", err, tt.want)
			}
			if !reflect.DeepEqual(got, Options{}) {
				t.Errorf("Parse returned options with an error: %+v", got)
			}
		})
	}
}

func TestSplitArgs(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"   \t\n ", nil},
		{"a b  c", []string{"a", "b", "c"}},
		{`'a b' "c d"`, []string{"a b", "c d"}},
		{`''`, []string{""}},
		{`"" x`, []string{"", "x"}},
		{`a'b'"c"`, []string{"abc"}},
		{`'it''s'`, []string{"its"}},
		{`"it's"`, []string{"it's"}},
		{`'a\b'`, []string{`a\b`}},
		{`"a\"b\\c\d\$"`, []string{`a"b\c\d$`}},
		{`a\ b \'c`, []string{"a b", "'c"}},
		{"a\\\nb", []string{"ab"}},
		{"\"a\\\nb\"", []string{"ab"}},
		{`$HOME * ~ $(rm -rf /) ;&|`, []string{"$HOME", "*", "~", "$(rm", "-rf", "/)", ";&|"}},
		{"--x=\"1 2\"", []string{"--x=1 2"}},
		{"é ü", []string{"é", "ü"}},
	}
	for _, tt := range tests {
		got, err := SplitArgs(tt.in)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("SplitArgs(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{`'`, `"abc`, `a\`, `'a" b`} {
		if got, err := SplitArgs(bad); err == nil {
			t.Errorf("SplitArgs(%q) = %q, want an error", bad, got)
		}
	}
}

func TestProcessArgs(t *testing.T) {
	base := []string{
		"-m", "ade_engine", "process", "file",
		"--input", "/d/runs/r/input/Book.xlsx",
		"--output-dir", "/d/runs/r/output",
		"--config-package", "/d/config_packages/c",
		"--log-format", "ndjson",
	}
	tests := []struct {
		name string
		opts Options
		tail []string // after base
	}{
		{"defaults", Options{LogLevel: "INFO"}, []string{"--log-level", "INFO"}},
		{"zero value falls back to INFO", Options{}, []string{"--log-level", "INFO"}},
		{"max findings", Options{LogLevel: "DEBUG", MaxFindingsPerSheet: intp(0)}, []string{"--log-level", "DEBUG", "--max-findings-per-sheet", "0"}},
		{"active sheet", Options{LogLevel: "INFO", ActiveSheetOnly: true}, []string{"--log-level", "INFO", "--active-sheet-only"}},
		{"sheets", Options{LogLevel: "INFO", InputSheets: []string{"A", "B c"}}, []string{"--log-level", "INFO", "--input-sheet", "A", "--input-sheet", "B c"}},
		{"sheet starting with a dash", Options{LogLevel: "INFO", InputSheets: []string{"-1", "--x"}}, []string{"--log-level", "INFO", "--input-sheet=-1", "--input-sheet=--x"}},
		{"sheets win even if both set by hand", Options{LogLevel: "INFO", ActiveSheetOnly: true, InputSheets: []string{"A"}}, []string{"--log-level", "INFO", "--input-sheet", "A"}},
		{"everything in order", Options{LogLevel: "ERROR", MaxFindingsPerSheet: intp(9), InputSheets: []string{"S"}, EngineArgs: []string{"--strict", "x"}},
			[]string{"--log-level", "ERROR", "--max-findings-per-sheet", "9", "--input-sheet", "S", "--strict", "x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.opts.ProcessArgs("/d/runs/r/input/Book.xlsx", "/d/runs/r/output", "/d/config_packages/c")
			want := append(append([]string{}, base...), tt.tail...)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("ProcessArgs\n got %q\nwant %q", got, want)
			}
		})
	}
}

func TestProcessArgsDoesNotAliasOptions(t *testing.T) {
	o := Options{LogLevel: "INFO", EngineArgs: make([]string, 1, 10)}
	o.EngineArgs[0] = "--a"
	args := o.ProcessArgs("i", "o", "c")
	args[len(args)-1] = "changed"
	if o.EngineArgs[0] != "--a" {
		t.Errorf("ProcessArgs shares memory with Options.EngineArgs")
	}
}

func TestValidateArgs(t *testing.T) {
	o, err := Parse(`{"validate_only": true, "log_level": "warn", "engine_args": ["--strict"]}`, `["A"]`)
	if err != nil {
		t.Fatal(err)
	}
	got := o.ValidateArgs("/d/config_packages/c")
	want := []string{"-m", "ade_engine", "config", "validate", "--config-package", "/d/config_packages/c", "--log-format", "ndjson", "--log-level", "WARNING"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ValidateArgs\n got %q\nwant %q", got, want)
	}
}
