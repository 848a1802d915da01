// Package rusage reads this process's own resource usage, for the
// benchmarks that report CPU time and context switches per run.
package rusage

import "time"

// Usage is this process's CPU time and context switches so far, all
// threads.
type Usage struct {
	// CPU is user plus system time.
	CPU time.Duration
	// Switches is how many times a thread gave up a CPU, waiting or
	// preempted: each costs a kernel round of scheduling, and most come from
	// goroutines handing work to each other across threads. Windows does
	// not count them per process: there it stays 0.
	Switches int64
}

// Self is this process's usage so far (zero if the system will not say).
func Self() Usage { return self() }

// CPU is Self().CPU.
func CPU() time.Duration { return Self().CPU }
