package engine

import (
	"syscall"
	"unicode/utf16"
)

// argLimits are Windows's: CreateProcess takes a command line of at most
// 32,767 UTF-16 units, the program and every argument quoted as os/exec
// quotes them; the environment is not part of it.
func argLimits() limits {
	return limits{total: 32767 - 1, size: commandLineUnits}
}

func commandLineUnits(path string, args, _ []string) int {
	n := len(utf16.Encode([]rune(syscall.EscapeArg(path))))
	for _, a := range args {
		n += 1 + len(utf16.Encode([]rune(syscall.EscapeArg(a))))
	}
	return n
}
