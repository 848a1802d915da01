//go:build unix

package paths

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// special makes one kind of file that is not a regular one at path; it
// skips the test when the kind cannot be made here.
type special struct {
	kind string // what the error must call it
	make func(t *testing.T, path string)
}

var specials = []special{
	{"a FIFO (named pipe)", func(t *testing.T, path string) {
		must(t, syscall.Mkfifo(path, 0o644))
	}},
	{"a socket", func(t *testing.T, path string) {
		l, err := net.Listen("unix", path)
		if err != nil {
			t.Skipf("cannot make a unix socket at %s: %v", path, err)
		}
		t.Cleanup(func() { l.Close() })
	}},
	{"a device", func(t *testing.T, path string) {
		// A character device like /dev/null (major 1, minor 3); making
		// one takes root.
		if err := syscall.Mknod(path, syscall.S_IFCHR|0o666, 1<<8|3); err != nil {
			t.Skipf("cannot make a device node (needs root): %v", err)
		}
	}},
	{"a folder", func(t *testing.T, path string) {
		must(t, os.Mkdir(path, 0o755))
	}},
}

// returnsSoon bounds a call that must not block; it fails the test if the call
// has not returned in time (a FIFO opened for reading would wait for ever).
func returnsSoon[T any](t *testing.T, what string, fn func() (T, error)) (T, error) {
	t.Helper()
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := fn()
		done <- result{v, err}
	}()
	select {
	case r := <-done:
		return r.v, r.err
	case <-time.After(10 * time.Second):
		t.Fatalf("%s blocked", what)
	}
	var zero T
	return zero, nil
}

// TestSpecialDocuments: a stored_uri naming a FIFO, a socket, a device or a
// folder is refused at once with ErrNotRegular (not ErrNotFound, which is
// retried), by DocumentPath and by OpenDocument, and neither blocks.
func TestSpecialDocuments(t *testing.T) {
	for _, sp := range specials {
		t.Run(sp.kind, func(t *testing.T) {
			tr := newTree(t)
			name := "special-" + strings.Fields(sp.kind)[1]
			sp.make(t, filepath.Join(tr.docs, name))
			uri := "file:" + name
			_, pathErr := returnsSoon(t, "DocumentPath", func() (string, error) { return tr.layout.DocumentPath("ws", uri) })
			f, openErr := returnsSoon(t, "OpenDocument", func() (*os.File, error) { return tr.layout.OpenDocument("ws", uri) })
			if f != nil {
				f.Close()
			}
			for what, err := range map[string]error{"DocumentPath": pathErr, "OpenDocument": openErr} {
				var pe *Error
				if !errors.Is(err, ErrNotRegular) || errors.Is(err, ErrNotFound) || !errors.As(err, &pe) {
					t.Errorf("%s: %v; want a *paths.Error wrapping ErrNotRegular", what, err)
					continue
				}
				if want := "names " + sp.kind + ", not a regular file"; pe.Reason != want {
					t.Errorf("%s says %q, want %q", what, pe.Reason, want)
				}
			}
		})
	}
}

// TestOpenRegularDoesNotWaitForAFIFO: a FIFO swapped in between the look at
// the name and the open is opened without waiting for a writer and then
// refused.
func TestOpenRegularDoesNotWaitForAFIFO(t *testing.T) {
	tr := newTree(t)
	must(t, syscall.Mkfifo(filepath.Join(tr.docs, "swapped"), 0o644))
	r, err := os.OpenRoot(tr.docs)
	must(t, err)
	defer r.Close()
	f, err := returnsSoon(t, "openRegular", func() (*os.File, error) { return openRegular(r, "swapped", "file:swapped") })
	if f != nil {
		f.Close()
	}
	if !errors.Is(err, ErrNotRegular) || !strings.Contains(err.Error(), "a FIFO") {
		t.Fatalf("openRegular of a FIFO: %v; want ErrNotRegular naming a FIFO", err)
	}
}
