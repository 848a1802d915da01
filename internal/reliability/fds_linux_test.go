package reliability

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// checkWorkerFiles fails when the worker process has a descriptor of a
// deleted file of the database (the -wal or -shm another process removed
// while the worker was using them).
func checkWorkerFiles(t *testing.T, w *workerProc, dbPath string) {
	t.Helper()
	dir := "/proc/" + strconv.Itoa(w.cmd.Process.Pid) + "/fd"
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("list the worker's descriptors: %v", err)
	}
	open := 0
	for _, e := range entries {
		target, err := os.Readlink(filepath.Join(dir, e.Name()))
		if err != nil || !strings.HasPrefix(target, dbPath) {
			continue
		}
		open++
		if strings.HasSuffix(target, " (deleted)") {
			t.Errorf("worker %s writes to a deleted database file: %s", w.id, target)
		}
	}
	if open == 0 {
		t.Errorf("worker %s has no descriptor of the database open", w.id)
	}
}
