package runopts

import (
	"strconv"
	"strings"
)

// ProcessArgs is the engine's argv after the interpreter for processing one
// file:
//
//	-m ade_engine process file --input <input> --output-dir <outputDir>
//	  --config-package <configDir> --log-format ndjson --log-level <L>
//	  [--max-findings-per-sheet N] [--active-sheet-only | --input-sheet NAME ...]
//	  <engine args...>
//
// A sheet name that starts with "-" is passed as --input-sheet=NAME so the
// engine cannot mistake it for an option.
func (o Options) ProcessArgs(input, outputDir, configDir string) []string {
	args := []string{
		"-m", "ade_engine", "process", "file",
		"--input", input,
		"--output-dir", outputDir,
		"--config-package", configDir,
		"--log-format", "ndjson",
		"--log-level", o.logLevel(),
	}
	if o.MaxFindingsPerSheet != nil {
		args = append(args, "--max-findings-per-sheet", strconv.Itoa(*o.MaxFindingsPerSheet))
	}
	switch {
	case len(o.InputSheets) > 0:
		for _, sheet := range o.InputSheets {
			if strings.HasPrefix(sheet, "-") {
				args = append(args, "--input-sheet="+sheet)
			} else {
				args = append(args, "--input-sheet", sheet)
			}
		}
	case o.ActiveSheetOnly:
		args = append(args, "--active-sheet-only")
	}
	return append(args, o.EngineArgs...)
}

// ValidateArgs is the engine's argv after the interpreter for validating a
// configuration package (validate_only runs). Engine arguments are not
// passed: they belong to processing.
func (o Options) ValidateArgs(configDir string) []string {
	return []string{
		"-m", "ade_engine", "config", "validate",
		"--config-package", configDir,
		"--log-format", "ndjson",
		"--log-level", o.logLevel(),
	}
}

func (o Options) logLevel() string {
	if o.LogLevel == "" {
		return DefaultLogLevel
	}
	return o.LogLevel
}
