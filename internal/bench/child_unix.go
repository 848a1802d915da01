//go:build unix

package bench

import (
	"fmt"
	"os/exec"
	"syscall"
)

// ownProcessGroup starts cmd in a process group of its own.
func ownProcessGroup(cmd *exec.Cmd) { cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} }

// askToStop sends SIGTERM, the worker's graceful stop.
func (w *workerProc) askToStop() error { return w.cmd.Process.Signal(syscall.SIGTERM) }

// pause stops the worker (SIGSTOP) while the direct engine runs have the
// machine: an idle worker still polls, and its CPU is not the ideal's.
func (w *workerProc) pause() error {
	if err := w.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		return fmt.Errorf("pause the worker: %w", err)
	}
	return nil
}

// resume continues a paused worker (a running one ignores SIGCONT).
func (w *workerProc) resume() error {
	if err := w.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		return fmt.Errorf("resume the worker: %w", err)
	}
	return nil
}

// kill ends the worker and anything it started, at once.
func (w *workerProc) kill() {
	_ = syscall.Kill(-w.cmd.Process.Pid, syscall.SIGKILL)
	<-w.done
}
