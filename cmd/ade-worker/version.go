package main

import (
	"fmt"

	"github.com/ade-dev/ade-worker/internal/version"
)

// cmdVersion prints the build's module version, commit, commit time and Go
// version, as the toolchain recorded them in the binary.
func cmdVersion(env *cliEnv, args []string) int {
	fs := env.flags("version")
	if code, ok := env.parseNoArgs(fs, args); !ok {
		return code
	}
	fmt.Fprintln(env.stdout, version.Get())
	return exitOK
}
