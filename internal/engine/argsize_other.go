//go:build !linux && !darwin && !windows

package engine

// argLimits elsewhere assume 256 KiB for the strings and pointers of argv
// and envp, what the BSDs have long allowed.
func argLimits() limits {
	return limits{total: 256<<10 - argMargin, size: stringsAndPointers}
}
