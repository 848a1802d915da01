package rusage

import (
	"time"

	"golang.org/x/sys/windows"
)

// SwitchesCounted reports whether Usage.Switches is counted here.
const SwitchesCounted = false

func self() Usage {
	var creation, exit, kernel, user windows.Filetime
	if err := windows.GetProcessTimes(windows.CurrentProcess(), &creation, &exit, &kernel, &user); err != nil {
		return Usage{}
	}
	// Windows counts these times in ticks of 100 ns.
	ticks := func(f windows.Filetime) int64 { return int64(f.HighDateTime)<<32 | int64(f.LowDateTime) }
	return Usage{CPU: time.Duration(ticks(kernel)+ticks(user)) * 100}
}
