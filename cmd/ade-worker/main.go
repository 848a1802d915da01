// Command ade-worker processes ADE runs from the database queue: it builds a
// Python environment per configuration and dependency digest, runs the ADE
// engine on each run's document, and writes outcomes and results back.
package main

import (
	"os"
)

func main() {
	os.Exit(Main(os.Args[1:], os.Environ(), os.Stdout, os.Stderr))
}
