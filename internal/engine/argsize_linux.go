package engine

import "syscall"

// argLimits are Linux's (fs/exec.c): the strings and pointers of argv and
// envp may take a quarter of the stack limit, at least 128 KiB and at most
// 6 MiB, and one string at most 32 pages (MAX_ARG_STRLEN).
func argLimits() limits {
	const (
		minTotal  = 128 << 10
		maxTotal  = 6 << 20
		perString = 32 * 4096
	)
	total := 2 << 20 // a quarter of the usual 8 MiB stack
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_STACK, &rl); err == nil {
		total = int(min(max(rl.Cur/4, minTotal), maxTotal))
	}
	return limits{total: total - argMargin, perString: perString, size: stringsAndPointers}
}
