package engine

import "syscall"

// parentDeath has the kernel send the child SIGKILL when the thread that
// started it ends, which startLocked holds until the child is reaped: a
// worker killed with SIGKILL takes its engines with it.
func parentDeath(attr *syscall.SysProcAttr) { attr.Pdeathsig = syscall.SIGKILL }
