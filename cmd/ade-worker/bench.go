package main

import "fmt"

func cmdBench(env *cliEnv, args []string) int {
	fs := env.flags("bench")
	if code, ok := env.parse(fs, args); !ok {
		return code
	}
	fmt.Fprintln(env.stderr, "ade-worker bench:", errNotImplemented)
	return exitFailure
}
