// Package runopts reads a run's options (runs.run_options and
// runs.input_sheet_names) and turns them into the engine's command line.
//
// Parsing is lenient about spelling, so the API and older rows keep working,
// and strict about meaning: a value that cannot be understood fails the run
// with a message naming the key, rather than being silently dropped and
// running something the user did not ask for.
package runopts

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
