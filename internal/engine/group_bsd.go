//go:build unix && !linux

package engine

import "syscall"

// parentDeath does nothing: macOS and the BSDs have no parent-death signal,
// so an engine outlives a worker killed with SIGKILL (see the README's
// Platforms section). A worker that stops normally stops the group.
func parentDeath(*syscall.SysProcAttr) {}
