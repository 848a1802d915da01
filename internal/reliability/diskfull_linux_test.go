package reliability

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestFullDisk: the data folder is a small tmpfs, filled to the last byte
// while runs wait. The worker gives every run back without spending its
// attempt (no run fails, none is retried on a spent attempt) and says so;
// once space is freed, every run succeeds on its first attempt. The
// database lives outside the full folder, as it usually does.
func TestFullDisk(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a small tmpfs for the data folder needs root")
	}
	f := newFixture(t)
	if err := syscall.Mount("tmpfs", f.dataDir, "tmpfs", 0, "size=4m,mode=0755"); err != nil {
		t.Skipf("cannot mount a tmpfs on the data folder: %v", err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(f.dataDir, syscall.MNT_DETACH) })
	ids := f.simpleRuns("cfg-full", "ok", 8)
	filler := filepath.Join(f.dataDir, "filler")
	fill(t, filler)

	w := f.startWorker("full", "ADE_WORKER_CONCURRENCY=2")
	const released = "infrastructure fault: run given back without spending its attempt"
	f.waitFor(60*time.Second, "runs to be given back", func() bool { return w.countLogged(released) >= 16 })
	for _, id := range ids {
		r := f.run(id)
		if r.Status == "failed" || r.Status == "succeeded" || r.AttemptCount > 1 {
			t.Fatalf("run %s ended %s on attempt %d while the disk was full: %q", id, r.Status, r.AttemptCount, r.ErrorMessage.String)
		}
		if r.Status == "queued" && (r.AttemptCount != 0 || !strings.Contains(r.ErrorMessage.String, "no space left on device")) {
			t.Errorf("queued run %s: attempt_count %d, error %q; want 0 and the full disk", id, r.AttemptCount, r.ErrorMessage.String)
		}
	}
	if !w.logged(released, map[string]any{"kind": "no_space"}) {
		t.Errorf("no fault of kind no_space logged:\n%s", w.tail(20))
	}
	t.Logf("%d runs given back while the disk was full, e.g. %q", w.countLogged(released), f.run(ids[0]).ErrorMessage.String)

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	freed := time.Now()
	f.waitTerminal(60*time.Second, ids...)
	for _, id := range ids {
		r := f.run(id)
		if r.Status != "succeeded" || r.AttemptCount != 1 {
			t.Errorf("run %s: %s on attempt %d (%q); want succeeded on attempt 1", id, r.Status, r.AttemptCount, r.ErrorMessage.String)
		}
	}
	t.Logf("all %d runs succeeded %s after space was freed", len(ids), time.Since(freed).Round(time.Millisecond))
	w.stop(t)
}

// fill writes path until the file system has no space left.
func fill(t *testing.T, path string) {
	t.Helper()
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	chunk := make([]byte, 64<<10)
	for {
		if _, err := out.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("fill %s: %v", path, err)
			}
			break
		}
	}
	// The last pages: what a 64 KiB write no longer fits.
	one := []byte{0}
	for {
		if _, err := out.Write(one); err != nil {
			return
		}
	}
}
