//go:build unix

package engine

import (
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"syscall"

	"golang.org/x/sys/unix"
)

// control holds a subprocess and everything it starts in one process
// group, whose id is the subprocess's pid.
type control struct {
	cmd *exec.Cmd
}

func newControl() *control { return &control{} }

// prepare puts the child in a process group of its own, and ties it to the
// worker's life where the system can (see parentDeath).
func (c *control) prepare(cmd *exec.Cmd) {
	c.cmd = cmd
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	parentDeath(cmd.SysProcAttr)
}

// started has nothing to do: the group exists from the child's first
// instruction.
func (c *control) started(*exec.Cmd) {}

// pgid is the group's id. os/exec sets cmd.Process before anything can
// call terminate or release.
func (c *control) pgid() int { return c.cmd.Process.Pid }

// terminate asks the whole group to end; os/exec kills the process itself
// if it has not exited after Spec.KillGrace.
func (c *control) terminate() error {
	if err := syscall.Kill(-c.pgid(), syscall.SIGTERM); err != nil {
		if errors.Is(err, syscall.ESRCH) {
			return os.ErrProcessDone
		}
		return err
	}
	return nil
}

// release kills what is left of the group once the process has been
// reaped. The group's id is the reaped process's pid, but it cannot name
// another group: a process group id is not reused while the group has a
// member (POSIX), and with no member left the signal finds nobody, unless
// the pid counter went all the way round between the reap and this call
// and a new process made itself the leader of a group of that number.
func (c *control) release() {
	if err := syscall.Kill(-c.pgid(), syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		slog.Warn("kill what is left of a subprocess group", slog.Int("pgid", c.pgid()), slog.Any("error", err))
	}
}

// exitStatus is a reaped process's exit code, or 128+n and the signal's
// name when signal n killed it.
func exitStatus(state *os.ProcessState) (code int, signal string) {
	if status, ok := state.Sys().(syscall.WaitStatus); ok && status.Signaled() {
		return 128 + int(status.Signal()), unix.SignalName(status.Signal())
	}
	return state.ExitCode(), ""
}
