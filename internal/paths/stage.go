package paths

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
)

// WriteCopy copies the open file in to dst, in place, and closes in. A
// link at dst (one an earlier attempt's engine left at a staged input) is
// replaced, never followed, and so is anything else that is not a regular
// file (a FIFO there would make the open wait for a reader).
func WriteCopy(in *os.File, dst string) error {
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

// ClearIrregular removes what is at path unless it is a regular file or
// nothing: an engine may leave a FIFO or a link where the worker writes
// next (logs/events.ndjson), and opening that would wait or lead elsewhere.
func ClearIrregular(path string) error {
	info, err := os.Lstat(path)
	if err != nil || info.Mode().IsRegular() {
		return nil
	}
	return os.RemoveAll(path)
}
