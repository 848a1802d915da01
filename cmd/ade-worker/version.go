package main

import (
	"fmt"
	"runtime/debug"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = ""

func cmdVersion(env *cliEnv, args []string) int {
	fs := env.flags("version")
	if code, ok := env.parseNoArgs(fs, args); !ok {
		return code
	}
	v := version
	if v == "" {
		v = "(devel)"
		if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
			v = bi.Main.Version
		}
	}
	fmt.Fprintf(env.stdout, "ade-worker %s\n", v)
	return exitOK
}
