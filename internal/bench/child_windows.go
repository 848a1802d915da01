package bench

import (
	"os/exec"
	"syscall"

	"golang.org/x/sys/windows"
)

// ownProcessGroup starts cmd in a console process group of its own, which
// askToStop can address.
func ownProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{CreationFlags: windows.CREATE_NEW_PROCESS_GROUP}
}

// askToStop sends CTRL_BREAK_EVENT to the worker's process group, which
// the worker reads as os.Interrupt, its graceful stop.
func (w *workerProc) askToStop() error {
	return windows.GenerateConsoleCtrlEvent(windows.CTRL_BREAK_EVENT, uint32(w.cmd.Process.Pid))
}

// pause does nothing: Windows has no way to stop a process from outside
// short of a debugger, so the idle worker's polling goes on beside the
// direct engine runs and is counted in the ideal's figure.
func (w *workerProc) pause() error { return nil }

// resume does nothing (see pause).
func (w *workerProc) resume() error { return nil }

// kill ends the worker at once; closing its handles to its engines' Job
// objects ends them too.
func (w *workerProc) kill() {
	_ = w.cmd.Process.Kill()
	<-w.done
}
