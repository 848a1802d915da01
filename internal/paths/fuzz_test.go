package paths

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzDocumentPath checks that whatever DocumentPath accepts is a regular
// file inside the documents folder, after symlinks, and that OpenDocument
// agrees with it.
func FuzzDocumentPath(f *testing.F) {
	tr := newTree(f)
	for _, seed := range []string{
		"file:a.xlsx", "file:///sub/b.xlsx", "a.xlsx", "file:evil", "file:../../etc/passwd",
		"file:..%2F..%2Fetc", "file:linkdir/secret", "file://host/x", "s3://b/k", "file:inner",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, uri string) {
		got, err := tr.layout.DocumentPath("ws", uri)
		fh, openErr := tr.layout.OpenDocument("ws", uri)
		if fh != nil {
			fh.Close()
		}
		if err != nil {
			if !errors.Is(err, ErrUnsafe) && !errors.Is(err, ErrNotFound) {
				// Other errors (a symlink loop, a name too long) are
				// allowed, but never with a path.
				if got != "" {
					t.Fatalf("DocumentPath(%q) returned %q with error %v", uri, got, err)
				}
			}
			if openErr == nil {
				t.Fatalf("OpenDocument(%q) succeeded where DocumentPath failed: %v", uri, err)
			}
			return
		}
		if !within(tr.docs, got) {
			t.Fatalf("DocumentPath(%q) = %q, outside %q", uri, got, tr.docs)
		}
		real, rerr := filepath.EvalSymlinks(got)
		if rerr != nil || !within(tr.docs, real) {
			t.Fatalf("DocumentPath(%q) = %q resolves to %q (%v), outside the documents folder", uri, got, real, rerr)
		}
		if info, serr := os.Lstat(got); serr != nil || !info.Mode().IsRegular() {
			t.Fatalf("DocumentPath(%q) = %q is not a regular file", uri, got)
		}
		if openErr != nil {
			t.Fatalf("OpenDocument(%q) failed where DocumentPath succeeded: %v", uri, openErr)
		}
	})
}
