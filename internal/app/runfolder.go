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
	if err := clearIrregular(rp.Events); err != nil {
		return fmt.Errorf("clear event log: %w", err)
	}
	if err := os.RemoveAll(rp.Output); err != nil {
		return fmt.Errorf("clear output folder: %w", err)
	}
	return os.Mkdir(rp.Output, 0o755)
}

// writeCopy copies the open file in to dst, in place, and closes in. A
// link at dst (one an earlier attempt's engine left at a staged input) is
// replaced, never followed, and so is anything else that is not a regular
// file (a FIFO there would make the open wait for a reader).
func writeCopy(in *os.File, dst string) error {
	defer in.Close()
	out, err := openStaged(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// openStaged opens dst to be written from its start, without following a
// link or waiting on a FIFO. What is at dst and is not a regular file is
// removed, and the open tried once more.
func openStaged(dst string) (*os.File, error) {
	const flags = os.O_CREATE | os.O_TRUNC | os.O_WRONLY | stageFlags
	out, err := os.OpenFile(dst, flags, 0o644)
	switch {
	case err == nil:
		info, serr := out.Stat()
		if serr == nil && info.Mode().IsRegular() {
			return out, nil
		}
		out.Close()
	case errors.Is(err, syscall.ELOOP), errors.Is(err, syscall.ENXIO), errors.Is(err, syscall.EISDIR):
		// A link, a FIFO with no reader or a socket, a folder.
	default:
		return nil, err
	}
	if err := os.RemoveAll(dst); err != nil {
		return nil, err
	}
	out, err = os.OpenFile(dst, flags, 0o644)
	if err != nil {
		return nil, err
	}
	if info, err := out.Stat(); err != nil || !info.Mode().IsRegular() {
		out.Close()
		return nil, fmt.Errorf("%s is not a regular file after it was replaced", dst)
	}
	return out, nil
}

// clearIrregular removes what is at path unless it is a regular file or
// nothing: an engine may leave a FIFO or a link where the worker writes
// next (logs/events.ndjson), and opening that would wait or lead elsewhere.
func clearIrregular(path string) error {
	info, err := os.Lstat(path)
	if err != nil || info.Mode().IsRegular() {
		return nil
	}
	return os.RemoveAll(path)
}
