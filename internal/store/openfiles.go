package store

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
)

// sqliteHeader starts every SQLite database file.
const sqliteHeader = "SQLite format 3\x00"

// openFiles counts this process's connections per database file (by
// identity, not path), for one purpose: the header of a file may be read
// outside SQLite only while no connection of this process has that file
// open. POSIX locks belong to the process, and closing any descriptor of a
// file drops all of them; another process would then believe itself alone,
// checkpoint and delete the WAL under this one.
//
// The header is read before the first connection to a file because SQLite
// cannot be asked for it: with WAL, a page 1 still in the log masks a main
// file that was overwritten (garbage put at the path beside the old -wal
// reads as the old database).
var openFiles struct {
	mu      sync.Mutex
	entries []*openFile
}

type openFile struct {
	id    os.FileInfo
	conns int
}

// acquireFile counts one more connection to the file id (stat of path),
// checking its header first when no connection of this process has it
// open. Every acquireFile that succeeds is paired with a releaseFile.
func acquireFile(path string, id os.FileInfo) (*openFile, error) {
	openFiles.mu.Lock()
	defer openFiles.mu.Unlock()
	for _, e := range openFiles.entries {
		if os.SameFile(e.id, id) {
			e.conns++
			return e, nil
		}
	}
	if err := checkHeader(path, id); err != nil {
		return nil, err
	}
	e := &openFile{id: id, conns: 1}
	openFiles.entries = append(openFiles.entries, e)
	return e, nil
}

// releaseFile counts one connection to e fewer.
func releaseFile(e *openFile) {
	openFiles.mu.Lock()
	defer openFiles.mu.Unlock()
	e.conns--
	if e.conns > 0 {
		return
	}
	for i, x := range openFiles.entries {
		if x == e {
			openFiles.entries = append(openFiles.entries[:i], openFiles.entries[i+1:]...)
			return
		}
	}
}

// checkHeader fails when the file at path is not id, or is neither empty
// (SQLite's empty database) nor a SQLite database.
func checkHeader(path string, id os.FileInfo) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrDatabaseFileGone, path, err)
	}
	defer f.Close()
	if now, err := f.Stat(); err != nil || !os.SameFile(now, id) {
		return fmt.Errorf("%w: %s changed while it was being opened", ErrDatabaseFileGone, path)
	}
	head := make([]byte, len(sqliteHeader))
	n, err := io.ReadFull(f, head)
	switch {
	case n == 0 && errors.Is(err, io.EOF):
		return nil
	case err != nil && !errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("read %s: %w", path, err)
	case string(head[:n]) != sqliteHeader:
		return fmt.Errorf("%s is not a SQLite database", path)
	}
	return nil
}
