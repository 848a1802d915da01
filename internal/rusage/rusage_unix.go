//go:build unix

package rusage

import (
	"syscall"
	"time"
)

// SwitchesCounted reports whether Usage.Switches is counted here.
const SwitchesCounted = true

func self() Usage {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return Usage{}
	}
	return Usage{CPU: time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), Switches: int64(ru.Nvcsw + ru.Nivcsw)}
}
