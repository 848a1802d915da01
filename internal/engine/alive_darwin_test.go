package engine

import "golang.org/x/sys/unix"

// zombie is SZOMB, the state of a process that has exited and not been
// reaped (sys/proc.h).
const zombie = 5

// alive reports whether pid is a running process (a zombie is not).
func alive(pid int) bool {
	info, err := unix.SysctlKinfoProc("kern.proc.pid", pid)
	return err == nil && info.Proc.P_pid == int32(pid) && info.Proc.P_stat != zombie
}
