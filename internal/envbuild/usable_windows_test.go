package envbuild

import (
	"os"
	"path/filepath"
	"testing"
)

// On Windows an interpreter is usable when it is a file with a program's
// extension (Scripts\python.exe).
func TestUsable(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	exe := filepath.Join(dir, "python.exe")
	os.WriteFile(exe, []byte("MZ"), 0o755)
	plain := filepath.Join(dir, "python")
	os.WriteFile(plain, nil, 0o644)

	if err := Usable(exe); err != nil {
		t.Errorf("Usable(python.exe) = %v", err)
	}
	for _, bad := range []string{"", filepath.Join(dir, "missing.exe"), dir, plain} {
		if err := Usable(bad); err == nil {
			t.Errorf("Usable(%q) = nil, want an error", bad)
		}
	}
}
