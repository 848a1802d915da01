package storetest

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// lockProbeEnv names the database file a test binary started as a lock
// probe inspects.
const lockProbeEnv = "ADE_TEST_LOCK_PROBE"

// LockProbeMain turns the test binary into the lock probe when it was
// started as one (see HoldsSQLiteLock). A TestMain calls it first.
func LockProbeMain() {
	path := os.Getenv(lockProbeEnv)
	if path == "" {
		return
	}
	pid, err := sharedLockHolder(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	fmt.Println(pid)
	os.Exit(0)
}

// SQLiteLockHolder is the pid of a process holding a lock on the byte range
// that SQLite readers share-lock in a database file (0 when none), as
// another process sees it: a process's own locks never conflict with its
// own requests, so it takes a second process to see them. The test binary
// must call LockProbeMain in its TestMain.
//
// Every connection to a WAL database keeps that shared lock while it is
// open. A process whose connections are open but which holds none has lost
// its locks (closing any descriptor of a file drops all of them), and the
// next process to close its last connection will delete the WAL under it.
func SQLiteLockHolder(t testing.TB, path string) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), lockProbeEnv+"="+path)
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("lock probe of %s: %v %s", path, err, stderr)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("lock probe of %s printed %q", path, out)
	}
	return pid
}
