package bench

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// What /proc tells of the worker process and the machine. On a system
// without /proc the figures read as errors (memory, cpuTimes) or as empty
// (loadAverage): the bench measures on Linux.

// memory reads the worker's resident set now and its peak (VmRSS, VmHWM)
// in KiB from /proc: the worker's own pages, never its engines'.
func (w *workerProc) memory() (rss, hwm int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", w.cmd.Process.Pid))
	if err != nil {
		return 0, 0, err
	}
	for line := range bytes.Lines(b) {
		name, val, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		var dst *int64
		switch string(name) {
		case "VmRSS":
			dst = &rss
		case "VmHWM":
			dst = &hwm
		default:
			continue
		}
		f := strings.Fields(string(val))
		if len(f) > 0 {
			*dst, _ = strconv.ParseInt(f[0], 10, 64)
		}
	}
	if rss == 0 || hwm == 0 {
		return rss, hwm, errors.New("no VmRSS/VmHWM in /proc status")
	}
	return rss, hwm, nil
}

// userHz is the unit of the CPU times in /proc/<pid>/stat: Linux reports
// them in USER_HZ, 100 a second on every architecture the worker runs on.
const userHz = 100

// cpuTimes reads the user and system CPU time of process pid (its own
// threads, not its children) from /proc/<pid>/stat.
func cpuTimes(pid int) (user, system time.Duration, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	// The command name, in parentheses, may hold spaces: the fields
	// counted are those after it, from the state (field 3).
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	// utime and stime are fields 14 and 15, so 11 and 12 after the state.
	if len(f) < 13 {
		return 0, 0, fmt.Errorf("/proc/%d/stat: %d fields after the command name", pid, len(f))
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	tick := time.Second / userHz
	return time.Duration(ut) * tick, time.Duration(st) * tick, nil
}

// loadAverage is /proc/loadavg's first three fields: other work on the
// machine while the bench ran.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}
