package paths

import (
	"fmt"
	"path/filepath"
	"strings"
)

// SafeJoinInside returns p relative to root (with "/" separators, as it is
// stored in runs.output_path) only if p lies strictly inside root. p may be
// absolute or relative to root; it typically comes from the engine
// (outputs.normalized.path), which is not trusted.
//
// The answer is taken after resolving symlinks on both sides (for a p that
// does not exist yet, those of its deepest existing folder): a link inside
// root that points out is refused, and an absolute path given through
// another spelling of root (root itself behind a symlink) is accepted.
func SafeJoinInside(root, p string) (string, error) {
	switch {
	case p == "":
		return "", unsafe("path", p, "is empty")
	case strings.IndexByte(p, 0) >= 0:
		return "", unsafe("path", p, "contains a NUL byte")
	}
	root, err := filepath.Abs(root)
	if err != nil {
		return "", fmt.Errorf("resolve folder %q: %w", root, err)
	}
	candidate := p
	if !filepath.IsAbs(candidate) {
		candidate = filepath.Join(root, candidate)
	}
	candidate = filepath.Clean(candidate)
	if candidate == root {
		return "", unsafe("path", p, "is the folder itself, not a file in it")
	}

	real, missing, err := resolve(candidate)
	if err != nil {
		return "", fmt.Errorf("resolve %q: %w", p, err)
	}
	realRoot, _, err := resolve(root)
	if err != nil {
		return "", fmt.Errorf("resolve folder %q: %w", root, err)
	}
	if !within(realRoot, real) {
		if missing {
			return "", unsafe("path", p, "lies outside "+root)
		}
		return "", unsafe("path", p, "resolves to outside "+root)
	}
	rel, err := filepath.Rel(realRoot, real)
	if err != nil {
		return "", fmt.Errorf("relate %q to %q: %w", p, root, err)
	}
	return filepath.ToSlash(rel), nil
}
