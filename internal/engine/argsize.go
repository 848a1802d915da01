package engine

import (
	"errors"
	"fmt"
)

// ErrArgsTooLong is wrapped by CheckArgs's error: the command line would
// not fit the system's limit, so starting the process fails (E2BIG) however
// often it is tried.
var ErrArgsTooLong = errors.New("argument list too long")

// CheckArgs reports, before a start, whether the program path, args and
// env fit what the system lets one new process take, so a command line
// that cannot start fails with a reason instead of an E2BIG from exec. The
// limits are the system's (see argLimits), less a margin.
func CheckArgs(path string, args, env []string) error {
	l := argLimits()
	longest, index := 0, -1
	for i, a := range args {
		if len(a) > longest {
			longest, index = len(a), i
		}
	}
	if l.perString > 0 && longest >= l.perString {
		return fmt.Errorf("%w: argument %d is %d bytes long; one argument may be at most %d bytes here",
			ErrArgsTooLong, index+1, longest, l.perString-1)
	}
	total := l.size(path, args, env)
	if total > l.total {
		return fmt.Errorf("%w: %d arguments take %d bytes with the environment; at most %d fit here",
			ErrArgsTooLong, len(args), total, l.total)
	}
	return nil
}

// limits are a system's bounds on a new process's command line.
type limits struct {
	// total bounds what size counts.
	total int
	// perString bounds one argument, its terminating NUL included; 0 means
	// no bound of its own.
	perString int
	// size is what the system counts of a command line.
	size func(path string, args, env []string) int
}

// stringsAndPointers is what a Unix kernel copies for execve: every string
// with its NUL (the path twice: as the file to run and as argv[0]) and a
// pointer to each argument and variable.
func stringsAndPointers(path string, args, env []string) int {
	n := 2*(len(path)+1) + 8*(len(args)+1+len(env))
	for _, a := range args {
		n += len(a) + 1
	}
	for _, e := range env {
		n += len(e) + 1
	}
	return n
}

// argMargin is left free below a system's limit for what this count does
// not see (alignment, the kernel's own copies).
const argMargin = 4 << 10
