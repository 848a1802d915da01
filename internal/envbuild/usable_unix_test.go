//go:build unix

package envbuild

import (
	"os"
	"path/filepath"
	"testing"
)

// On Unix an interpreter is usable when it is a file this user may
// execute, directly or through a link.
func TestUsable(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	exe := filepath.Join(dir, "python")
	os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755)
	plain := filepath.Join(dir, "plain")
	os.WriteFile(plain, nil, 0o644)
	dangling := filepath.Join(dir, "dangling")
	os.Symlink(filepath.Join(dir, "vanished"), dangling)
	linked := filepath.Join(dir, "linked")
	os.Symlink(exe, linked)

	if err := Usable(exe); err != nil {
		t.Errorf("Usable(executable) = %v", err)
	}
	if err := Usable(linked); err != nil {
		t.Errorf("Usable(link to executable) = %v", err)
	}
	for _, bad := range []string{"", filepath.Join(dir, "missing"), dir, plain, dangling} {
		if err := Usable(bad); err == nil {
			t.Errorf("Usable(%q) = nil, want an error", bad)
		}
	}
}
