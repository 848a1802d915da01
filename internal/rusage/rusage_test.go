package rusage

import (
	"testing"
	"time"
)

// Spinning moves the CPU time and sleeping moves the context switches
// (where the system counts them). The spin goes on until CPU time has
// moved or a long limit passed: a loaded machine may give this process
// little of a CPU, but not none.
func TestSelfMoves(t *testing.T) {
	before := Self()
	limit := time.Now().Add(time.Minute)
	for CPU()-before.CPU < 20*time.Millisecond && time.Now().Before(limit) {
	}
	for range 5 {
		time.Sleep(time.Millisecond)
	}
	after := Self()
	if after.CPU-before.CPU < 20*time.Millisecond {
		t.Errorf("CPU moved by %v in a minute of spinning", after.CPU-before.CPU)
	}
	if SwitchesCounted && after.Switches <= before.Switches {
		t.Errorf("context switches did not move over five sleeps: %d -> %d", before.Switches, after.Switches)
	}
}
