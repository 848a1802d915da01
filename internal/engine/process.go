package engine

import (
	"os/exec"
	"runtime"
)

// startLocked starts cmd and waits for it on one goroutine locked to its
// OS thread, which therefore stays alive until the child is reaped. Linux
// delivers the parent-death signal when the thread that forked the child
// exits, not the process (golang/go#27505), and the Go runtime ends a
// thread whenever a goroutine locked to it exits, which code anywhere in
// the worker may do: forked from a shared thread, a healthy child could be
// killed at any moment. Other systems need no such care; one code path
// serves them all.
//
// The channel it returns receives cmd.Wait's error once the child has been
// reaped.
func startLocked(cmd *exec.Cmd, ctl *control) (<-chan error, error) {
	started := make(chan error, 1)
	waited := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := startTracked(cmd); err != nil {
			started <- err
			return
		}
		ctl.started(cmd)
		started <- nil
		err := cmd.Wait()
		untrack(cmd.Process.Pid)
		waited <- err
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	return waited, nil
}
