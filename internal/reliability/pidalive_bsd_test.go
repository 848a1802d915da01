//go:build unix && !linux

package reliability

import (
	"os/exec"
	"strconv"
	"strings"
)

// pidAlive reports whether pid is a live (not zombie) process, as ps(1)
// shows it: there is no /proc here.
func pidAlive(pid int) bool {
	out, err := exec.Command("ps", "-o", "stat=", "-p", strconv.Itoa(pid)).Output()
	state := strings.TrimSpace(string(out))
	return err == nil && state != "" && !strings.HasPrefix(state, "Z")
}
