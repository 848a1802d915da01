// Package rusage reads this process's own resource usage, for the
// benchmarks that report CPU time and context switches per run.
package rusage

import (
	"syscall"
	"time"
)

// Usage is this process's CPU time and context switches so far, all
// threads.
type Usage struct {
	// CPU is user plus system time.
	CPU time.Duration
	// Switches is how many times a thread gave up a CPU, waiting or
	// preempted: each costs a kernel round of scheduling, and most come from
	// goroutines handing work to each other across threads.
	Switches int64
}

// Self is this process's usage so far (zero if the kernel will not say).
func Self() Usage {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return Usage{}
	}
	return Usage{CPU: time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), Switches: ru.Nvcsw + ru.Nivcsw}
}

// CPU is Self().CPU.
func CPU() time.Duration { return Self().CPU }
