package engine

import "strings"

// platformNames pass to every subprocess on Windows too: Python needs
// SYSTEMROOT (sockets, random numbers) and USERPROFILE (its home).
var platformNames = []string{"SYSTEMROOT", "USERPROFILE"}

// envKey is a variable's name as Windows compares it: without case.
func envKey(name string) string { return strings.ToUpper(name) }
