//go:build !linux

package engine

import "os/exec"

// BecomeSubreaper does nothing here: only Linux lets a process adopt the
// orphans of its descendants. On Windows the Job object holds every
// descendant anyway; on macOS and the BSDs a process that leaves its
// run's process group is not found (see the README's Platforms section).
func BecomeSubreaper() error { return nil }

func startTracked(cmd *exec.Cmd) error { return cmd.Start() }

func untrack(int) {}

type strayMark struct{}

func newStrayMark() strayMark { return strayMark{} }

func endStrays(string, strayMark) {}
