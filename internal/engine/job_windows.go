package engine

import (
	"log/slog"
	"os"
	"os/exec"
	"sync"
	"unsafe"

	"golang.org/x/sys/windows"
)

// exitStopped is the exit code Windows reports for a tree the worker ends.
const exitStopped = 1

// control holds a subprocess and everything it starts in a Job object
// marked JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE: ending the job ends the tree
// (a process started from inside a job is in it too), and when the worker
// dies, even by a hard kill, Windows closes its handle to the job and
// kills every process in it.
//
// The process is put in the job just after it starts: a child it started
// within those microseconds would be outside the job. A Python engine is
// still loading its interpreter at that point.
type control struct {
	cmd *exec.Cmd
	mu  sync.Mutex
	job windows.Handle // 0 when no job could be made or joined
	// ended is set by terminate, which os/exec may call before started
	// has put the process in the job.
	ended bool
}

func newControl() *control { return &control{} }

// prepare makes the job, so that only one call stands between the start
// and the process being in it.
func (c *control) prepare(cmd *exec.Cmd) {
	c.cmd = cmd
	job, err := newKillOnCloseJob()
	if err != nil {
		slog.Warn("create a job object for a subprocess; stopping it will stop only the process itself", slog.Any("error", err))
		return
	}
	c.job = job
}

// newKillOnCloseJob makes a Job object whose processes die when its last
// handle closes.
func newKillOnCloseJob() (windows.Handle, error) {
	job, err := windows.CreateJobObject(nil, nil)
	if err != nil {
		return 0, err
	}
	var info windows.JOBOBJECT_EXTENDED_LIMIT_INFORMATION
	info.BasicLimitInformation.LimitFlags = windows.JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE
	if _, err := windows.SetInformationJobObject(job, windows.JobObjectExtendedLimitInformation,
		uintptr(unsafe.Pointer(&info)), uint32(unsafe.Sizeof(info))); err != nil {
		_ = windows.CloseHandle(job)
		return 0, err
	}
	return job, nil
}

// started puts the process in the job. The pid cannot name another
// process: os/exec holds a handle to this one until it is waited for.
func (c *control) started(cmd *exec.Cmd) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.job == 0 {
		return
	}
	err := assign(c.job, cmd.Process.Pid)
	if err != nil {
		slog.Warn("put a subprocess in its job object; stopping it will stop only the process itself",
			slog.Int("pid", cmd.Process.Pid), slog.Any("error", err))
		_ = windows.CloseHandle(c.job)
		c.job = 0
		return
	}
	if c.ended {
		_ = windows.TerminateJobObject(c.job, exitStopped)
	}
}

func assign(job windows.Handle, pid int) error {
	h, err := windows.OpenProcess(windows.PROCESS_SET_QUOTA|windows.PROCESS_TERMINATE, false, uint32(pid))
	if err != nil {
		return err
	}
	defer func() { _ = windows.CloseHandle(h) }()
	return windows.AssignProcessToJobObject(job, h)
}

// terminate ends the whole tree at once: Windows has no signal a console
// program can be asked to stop with.
func (c *control) terminate() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ended = true
	if c.job == 0 {
		return c.cmd.Process.Kill()
	}
	return windows.TerminateJobObject(c.job, exitStopped)
}

// release ends what is left in the job once the process has been reaped,
// and closes it.
func (c *control) release() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.job == 0 {
		return
	}
	if err := windows.TerminateJobObject(c.job, exitStopped); err != nil {
		slog.Warn("end what is left of a subprocess's job", slog.Any("error", err))
	}
	_ = windows.CloseHandle(c.job)
	c.job = 0
}

// exitStatus is the exit code as Windows reports it; there are no signals.
func exitStatus(state *os.ProcessState) (code int, signal string) {
	return state.ExitCode(), ""
}
