package app

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/ade-dev/ade-worker/internal/paths"
)

// makeRunFolder makes a new run folder whole (workspace folders included),
// and on a folder an earlier attempt left, keeps input/ and logs/ but
// empties output/.
func TestMakeRunFolder(t *testing.T) {
	layout, err := paths.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	rp, err := layout.Run("ws-1", "run-1")
	if err != nil {
		t.Fatal(err)
	}
	if err := makeRunFolder(rp); err != nil {
		t.Fatalf("new folder: %v", err)
	}
	for _, dir := range []string{rp.Input, rp.Logs, rp.Output} {
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			t.Fatalf("%s after makeRunFolder: %v", dir, err)
		}
	}
	// An earlier attempt's files.
	write := func(path string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(rp.Output, "normalized.xlsx"))
	write(filepath.Join(rp.Output, "sub", "part.csv"))
	write(filepath.Join(rp.Input, "in.csv"))
	write(rp.Events)
	if err := makeRunFolder(rp); err != nil {
		t.Fatalf("existing folder: %v", err)
	}
	if entries, err := os.ReadDir(rp.Output); err != nil || len(entries) != 0 {
		t.Errorf("output/ after a retry's makeRunFolder: %v, %v; want empty", entries, err)
	}
	for _, kept := range []string{filepath.Join(rp.Input, "in.csv"), rp.Events} {
		if _, err := os.Stat(kept); err != nil {
			t.Errorf("%s was not kept: %v", kept, err)
		}
	}
	// A run folder whose output/ is missing gets one.
	if err := os.Remove(rp.Output); err != nil {
		t.Fatal(err)
	}
	if err := makeRunFolder(rp); err != nil {
		t.Fatalf("folder without output/: %v", err)
	}
	if st, err := os.Stat(rp.Output); err != nil || !st.IsDir() {
		t.Errorf("output/ not made again: %v", err)
	}
	// A file where the run folder should be is an error, not a panic.
	other, err := layout.Run("ws-1", "run-2")
	if err != nil {
		t.Fatal(err)
	}
	write(other.Dir)
	if err := makeRunFolder(other); err == nil {
		t.Error("makeRunFolder over a file succeeded")
	}
}

// writeCopy writes a whole copy at the staged path: over an earlier
// attempt's copy, and over a link an earlier engine left there, which it
// replaces instead of writing through.
func TestWriteCopy(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "document.csv")
	if err := os.WriteFile(src, []byte("member_id\n1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	victim := filepath.Join(dir, "victim.txt")
	if err := os.WriteFile(victim, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	staged := filepath.Join(dir, "staged.csv")
	stage := func(what string) {
		t.Helper()
		in, err := os.Open(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := paths.WriteCopy(in, staged); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		st, err := os.Lstat(staged)
		if err != nil || !st.Mode().IsRegular() {
			t.Fatalf("%s: staged path is %v, %v; want a regular file", what, st, err)
		}
		if b, _ := os.ReadFile(staged); string(b) != "member_id\n1\n" {
			t.Fatalf("%s: staged copy holds %q", what, b)
		}
	}
	stage("new copy")
	if err := os.WriteFile(staged, []byte("an earlier attempt's, longer than the document"), 0o644); err != nil {
		t.Fatal(err)
	}
	stage("over an earlier copy")
	if err := os.Remove(staged); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, staged); err != nil {
		t.Fatal(err)
	}
	stage("over a link")
	if b, _ := os.ReadFile(victim); string(b) != "keep me" {
		t.Errorf("the link's target was written: %q", b)
	}
}
