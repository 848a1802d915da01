package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/ade-dev/ade-worker/internal/bench"
)

// report writes the result to --out and prints it: the table, or with
// --json the JSON alone on stdout and where things went on stderr. Without
// --keep it then removes the work folder.
func report(res *bench.Result, f *benchFlags, stdout, stderr io.Writer) int {
	if err := res.WriteJSON(f.jsonPath); err != nil {
		fmt.Fprintf(stderr, "ade-bench: write %s: %v\n", f.jsonPath, err)
		return exitFailure
	}
	notes := stderr
	if f.asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			fmt.Fprintf(stderr, "ade-bench: %v\n", err)
			return exitFailure
		}
	} else {
		res.WriteTable(stdout)
		notes = stdout
		fmt.Fprintln(notes)
	}
	fmt.Fprintf(notes, "JSON: %s\n", f.jsonPath)
	if !f.keep {
		if err := os.RemoveAll(res.WorkDir); err != nil {
			fmt.Fprintf(stderr, "ade-bench: remove the work folder: %v\n", err)
		}
	} else {
		fmt.Fprintf(notes, "work folder: %s (worker.log, data/db/ade.sqlite, run folders)\n", res.WorkDir)
	}
	return exitOK
}
