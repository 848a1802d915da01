package engine

// argLimits are macOS's: ARG_MAX (1 MiB) for the strings and pointers of
// argv and envp together, with no bound of its own on one argument.
func argLimits() limits {
	return limits{total: 1<<20 - argMargin, size: stringsAndPointers}
}
