//go:build !windows

package engine

// platformNames are variables only one platform's subprocesses need.
var platformNames []string

// envKey is a variable's name as the system compares it: as it is.
func envKey(name string) string { return name }
