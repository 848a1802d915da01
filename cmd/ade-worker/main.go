// Command ade-worker processes ADE runs from the database queue: it builds a
// Python environment per configuration and dependency digest, runs the ADE
// engine on each run's document, and writes outcomes and results back.
package main

import (
	"os"
)

func main() {
	os.Exit(dispatch(&cliEnv{environ: os.Environ(), stdout: os.Stdout, stderr: os.Stderr, process: true}, os.Args[1:]))
}
