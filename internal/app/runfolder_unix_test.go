//go:build unix

package app

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ade-dev/ade-worker/internal/paths"
)

// An engine runs in its run folder and may leave a FIFO, a socket, a link
// or a folder where the next attempt writes: at the staged input and at
// logs/events.ndjson. The next attempt replaces them, without waiting for a
// reader and without following a link.
func TestRunFolderReplacesWhatAnEngineLeft(t *testing.T) {
	layout, err := paths.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	rp, err := layout.Run("ws-1", "run-1")
	if err != nil {
		t.Fatal(err)
	}
	if err := makeRunFolder(rp); err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(t.TempDir(), "outside")
	if err := os.WriteFile(outside, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	leftovers := map[string]func(path string) error{
		"fifo":   func(p string) error { return syscall.Mkfifo(p, 0o644) },
		"link":   func(p string) error { return os.Symlink(outside, p) },
		"folder": func(p string) error { return os.MkdirAll(filepath.Join(p, "inside"), 0o755) },
		"socket": func(p string) error {
			l, err := net.Listen("unix", p)
			if err == nil {
				t.Cleanup(func() { l.Close() })
			}
			return err
		},
	}
	for kind, leave := range leftovers {
		t.Run(kind, func(t *testing.T) {
			staged := rp.StagedInput("in-" + kind + ".csv")
			for _, p := range []string{staged, rp.Events} {
				_ = os.RemoveAll(p)
				if err := leave(p); err != nil {
					t.Skipf("cannot leave a %s: %v", kind, err)
				}
			}
			done := make(chan error, 1)
			go func() {
				if err := makeRunFolder(rp); err != nil {
					done <- err
					return
				}
				src, err := os.CreateTemp(t.TempDir(), "doc")
				if err == nil {
					_, err = src.WriteString("name\nAda\n")
				}
				if err == nil {
					_, err = src.Seek(0, 0)
				}
				if err == nil {
					err = paths.WriteCopy(src, staged)
				}
				done <- err
			}()
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("staging over a %s blocked", kind)
			}
			if b, err := os.ReadFile(staged); err != nil || string(b) != "name\nAda\n" {
				t.Errorf("staged input: %q, %v", b, err)
			}
			if info, err := os.Lstat(rp.Events); err == nil && !info.Mode().IsRegular() {
				t.Errorf("events.ndjson is still a %s", info.Mode().Type())
			}
			if b, _ := os.ReadFile(outside); !strings.EqualFold(string(b), "keep") {
				t.Errorf("the file the link pointed at was written: %q", b)
			}
		})
	}
}
