//go:build unix && !linux

package app_test

import (
	"os/exec"
	"strconv"
	"strings"
)

// alive reports whether a process exists and has not exited, as ps(1)
// shows it: there is no /proc here.
func alive(pid int) bool {
	out, err := exec.Command("ps", "-o", "stat=", "-p", strconv.Itoa(pid)).Output()
	state := strings.TrimSpace(string(out))
	return err == nil && state != "" && !strings.HasPrefix(state, "Z")
}
