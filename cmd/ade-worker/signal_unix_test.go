//go:build unix

package main

import (
	"os/exec"
	"syscall"
)

// ownProcessGroup leaves cmd in the test's process group: SIGTERM is sent
// to the worker alone.
func ownProcessGroup(*exec.Cmd) {}

// askToStop sends SIGTERM, what a service manager sends.
func askToStop(cmd *exec.Cmd) error { return cmd.Process.Signal(syscall.SIGTERM) }
