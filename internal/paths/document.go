package paths

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
)

// DocumentPath resolves a document's stored_uri to its file under
// workspaces/<ws>/documents/, refusing anything that would lead elsewhere.
//
// Accepted forms (leading and trailing spaces are ignored):
//   - file:<relative path>, the form the API writes;
//   - file:/<path> and file:///<path>, whose leading slashes are dropped:
//     the path is always relative to the documents folder, never to "/";
//   - a plain relative path without a scheme, as older rows hold.
//
// Refused with ErrUnsafe: an empty value, a NUL byte, any other scheme
// (s3:, http:, ...), file://host/..., a path that after cleaning is the
// documents folder itself or leaves it ("../"), and a file whose symlinks
// resolve outside the documents folder. On Windows also a path with a
// backslash (a separator there, an ordinary character elsewhere), a drive
// ("C:"), or a name Windows reads otherwise (a ":" stream, a trailing dot,
// a device name such as NUL): see documentRelOn. Percent signs are not decoded: "%2F"
// is three ordinary characters of a file name, so an encoded "../" names a
// (missing) file inside the folder rather than a way out.
//
// A path that is safe but does not exist gives ErrNotFound; one that is not
// a regular file (a folder, a FIFO, a socket, a device) gives
// ErrNotRegular. The returned path has its symlinks resolved.
func (l Layout) DocumentPath(workspaceID, storedURI string) (string, error) {
	root, err := l.DocumentsDir(workspaceID)
	if err != nil {
		return "", err
	}
	rel, err := documentRel(storedURI)
	if err != nil {
		return "", err
	}
	candidate := filepath.Join(root, rel)
	if !within(root, candidate) {
		return "", unsafe("stored_uri", storedURI, "leads outside the documents folder")
	}

	real, missing, err := resolve(candidate)
	if err != nil {
		return "", fmt.Errorf("resolve document %q: %w", storedURI, err)
	}
	realRoot, _, err := resolve(root)
	if err != nil {
		return "", fmt.Errorf("resolve documents folder: %w", err)
	}
	if !within(realRoot, real) {
		return "", unsafe("stored_uri", storedURI, "resolves through a symlink to outside the documents folder")
	}
	if missing {
		return "", notFound("stored_uri", storedURI, "names a document file that does not exist")
	}
	info, err := os.Stat(real)
	if err != nil {
		if isMissing(err) {
			return "", notFound("stored_uri", storedURI, "names a document file that does not exist")
		}
		return "", fmt.Errorf("inspect document %q: %w", storedURI, err)
	}
	if err := checkRegular(storedURI, info); err != nil {
		return "", err
	}
	return real, nil
}

// OpenDocument opens a document for reading through os.Root, so that no
// symlink, even one swapped in after the checks, can make it read a file
// outside the documents folder. It accepts and refuses what DocumentPath
// does.
//
// It never blocks: what the name leads to is looked at (stat) before it is
// opened, so a FIFO, a socket, a device or a folder is refused without
// being opened (opening a FIFO waits for a writer, for ever); and the open
// itself does not wait (O_NONBLOCK), so a FIFO swapped in after the look is
// refused too, by the look at the open file.
func (l Layout) OpenDocument(workspaceID, storedURI string) (*os.File, error) {
	root, err := l.DocumentsDir(workspaceID)
	if err != nil {
		return nil, err
	}
	rel, err := documentRel(storedURI)
	if err != nil {
		return nil, err
	}
	if !within(root, filepath.Join(root, rel)) {
		return nil, unsafe("stored_uri", storedURI, "leads outside the documents folder")
	}
	r, err := os.OpenRoot(root)
	if err != nil {
		return nil, openError(storedURI, err)
	}
	defer r.Close()
	// The same lexical reading as DocumentPath: "a/../b" names b even when
	// no folder "a" exists, as filepath.Join reads it there.
	name := filepath.Clean(rel)
	info, err := r.Stat(name)
	if err != nil {
		return nil, openError(storedURI, err)
	}
	if err := checkRegular(storedURI, info); err != nil {
		return nil, err
	}
	return openRegular(r, name, storedURI)
}

// openRegular opens name under r for reading without waiting, and keeps it
// only if the open file is a regular file.
func openRegular(r *os.Root, name, storedURI string) (*os.File, error) {
	f, err := r.OpenFile(name, os.O_RDONLY|openNonBlocking, 0)
	if err != nil {
		return nil, openError(storedURI, err)
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("inspect document %q: %w", storedURI, err)
	}
	if err := checkRegular(storedURI, info); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// openError turns an error of looking up or opening a document into the
// error the caller can act on: missing, escaping, or something else.
func openError(storedURI string, err error) error {
	switch {
	case isMissing(err):
		return notFound("stored_uri", storedURI, "names a document file that does not exist")
	case strings.Contains(err.Error(), "escapes from parent"):
		return unsafe("stored_uri", storedURI, "resolves through a symlink to outside the documents folder")
	case errors.Is(err, syscall.ENXIO):
		// What opening a socket says.
		return notRegular("stored_uri", storedURI, "names a socket, not a regular file")
	}
	return fmt.Errorf("open document %q: %w", storedURI, err)
}

// checkRegular refuses, with ErrNotRegular, anything but a regular file,
// saying what it is.
func checkRegular(storedURI string, info fs.FileInfo) error {
	mode := info.Mode()
	what := ""
	switch {
	case mode.IsRegular():
		return nil
	case mode.IsDir():
		what = "a folder"
	case mode&fs.ModeNamedPipe != 0:
		what = "a FIFO (named pipe)"
	case mode&fs.ModeSocket != 0:
		what = "a socket"
	case mode&fs.ModeDevice != 0:
		what = "a device"
	default:
		what = "something"
	}
	return notRegular("stored_uri", storedURI, "names "+what+", not a regular file")
}

// documentRel turns a stored_uri into a path relative to the documents
// folder, before any check of where it leads.
func documentRel(storedURI string) (string, error) {
	return documentRelOn(storedURI, runtime.GOOS == "windows")
}

// documentRelOn is documentRel for a worker on Windows when windows is
// set, elsewhere when not: the rules differ only there, and tests of both
// run on every system.
func documentRelOn(storedURI string, windows bool) (string, error) {
	uri := strings.TrimSpace(storedURI)
	switch {
	case uri == "":
		return "", unsafe("stored_uri", storedURI, "is empty")
	case strings.IndexByte(uri, 0) >= 0:
		return "", unsafe("stored_uri", storedURI, "contains a NUL byte")
	}
	p := uri
	if scheme, rest, ok := cutScheme(uri); ok {
		if !strings.EqualFold(scheme, "file") {
			return "", unsafe("stored_uri", storedURI, "has an unsupported scheme (want file:)")
		}
		if strings.HasPrefix(rest, "//") && !strings.HasPrefix(rest, "///") {
			return "", unsafe("stored_uri", storedURI, "names a host (file://host/...), which is not supported")
		}
		p = rest
	}
	p = strings.TrimLeft(p, "/")
	if p == "" || path.Clean(p) == "." {
		return "", unsafe("stored_uri", storedURI, "names no file")
	}
	if windows {
		if reason := windowsPathProblem(p); reason != "" {
			return "", unsafe("stored_uri", storedURI, reason)
		}
	}
	return filepath.FromSlash(p), nil
}

// windowsPathProblem says why a "/"-separated relative path would not
// name the same file on Windows as elsewhere, or "".
func windowsPathProblem(p string) string {
	if strings.Contains(p, `\`) {
		return "contains a backslash, which Windows reads as a separator"
	}
	for _, seg := range strings.Split(p, "/") {
		switch {
		case seg == "" || seg == "." || seg == "..":
			// Cleaned away, then checked for where they lead.
		case len(seg) >= 2 && seg[1] == ':' && isLetter(seg[0]):
			return "names a drive (" + seg[:2] + "), not a path inside the documents folder"
		default:
			if reason := windowsProblem(seg); reason != "" {
				return "has a part " + strconv.Quote(seg) + " that " + reason
			}
		}
	}
	return ""
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// cutScheme splits "scheme:rest" when uri starts with a URI scheme
// (a letter, then letters, digits, "+", "-" or ".").
func cutScheme(uri string) (scheme, rest string, ok bool) {
	for i := 0; i < len(uri); i++ {
		c := uri[i]
		switch {
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
		case i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'):
		case i > 0 && c == ':':
			return uri[:i], uri[i+1:], true
		default:
			return "", "", false
		}
	}
	return "", "", false
}

// resolve is filepath.EvalSymlinks for a path that may not exist: it
// resolves the deepest existing ancestor and appends the missing rest, which
// it reports as missing. A missing file behind a symlink that leads out of a
// folder is thus still seen as outside.
func resolve(p string) (real string, missing bool, err error) {
	p = filepath.Clean(p)
	for dir := p; ; {
		real, err := filepath.EvalSymlinks(dir)
		if err == nil {
			if dir == p {
				return real, false, nil
			}
			rest, err := filepath.Rel(dir, p)
			if err != nil {
				return "", false, err
			}
			return filepath.Join(real, rest), true, nil
		}
		if !isMissing(err) {
			return "", false, err
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false, err
		}
		dir = parent
	}
}

// within reports whether p lies strictly inside root; both must be clean
// absolute paths.
func within(root, p string) bool {
	rel, err := filepath.Rel(root, p)
	if err != nil || rel == "." {
		return false
	}
	return filepath.IsLocal(rel)
}

// isMissing reports whether err means the path (or one of its parents) is
// not there, as opposed to a permission or I/O problem.
func isMissing(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}
