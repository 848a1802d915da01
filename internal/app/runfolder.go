package app

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/ade-dev/ade-worker/internal/paths"
)

// makeRunFolder makes the run folder with its input/, logs/ and output/
// folders, output/ empty. A folder new to this attempt costs four mkdirs
// (its parents, once per workspace); one an earlier attempt left keeps its
// input and logs, and its output is cleared: nothing of an earlier attempt
// can be mistaken for this one's output.
func makeRunFolder(rp paths.RunPaths) error {
	err := os.Mkdir(rp.Dir, 0o755)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(filepath.Dir(rp.Dir), 0o755); err != nil {
			return err
		}
		err = os.Mkdir(rp.Dir, 0o755)
	}
	if err == nil {
		for _, dir := range []string{rp.Input, rp.Logs, rp.Output} {
			if err := os.Mkdir(dir, 0o755); err != nil {
				return err
			}
		}
		return nil
	}
	if !errors.Is(err, fs.ErrExist) {
		return err
	}
	for _, dir := range []string{rp.Input, rp.Logs} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	if err := os.RemoveAll(rp.Output); err != nil {
		return fmt.Errorf("clear output folder: %w", err)
	}
	return os.Mkdir(rp.Output, 0o755)
}

// writeCopy copies the open file in to dst, in place, and closes in. A
// link at dst (one an earlier attempt's engine left at a staged input) is
// replaced, never followed.
func writeCopy(in *os.File, dst string) error {
	defer in.Close()
	const flags = os.O_CREATE | os.O_TRUNC | os.O_WRONLY | syscall.O_NOFOLLOW
	out, err := os.OpenFile(dst, flags, 0o644)
	if errors.Is(err, syscall.ELOOP) {
		if err = os.Remove(dst); err == nil {
			out, err = os.OpenFile(dst, flags, 0o644)
		}
	}
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
