package paths

import (
	"errors"
	"fmt"
)

// ErrUnsafe marks a value that would lead outside its folder or that no file
// name should hold: an empty id, "..", a separator, a NUL byte, a symlink
// out of the documents folder. A run that hits it fails; retrying cannot
// help.
var ErrUnsafe = errors.New("unsafe path")

// ErrNotFound marks a document or output that lies where it should but does
// not exist, so the caller can say "document file missing" rather than
// report an attack.
var ErrNotFound = errors.New("not found")

// ErrNotRegular marks a document that lies where it should but is not a
// regular file: a folder, a FIFO, a socket or a device. Unlike a missing
// file it will not turn into a document by waiting.
var ErrNotRegular = errors.New("not a regular file")

// Error says which value was refused and why. It wraps ErrUnsafe,
// ErrNotFound or ErrNotRegular.
type Error struct {
	What   string // what the value is, e.g. "workspace id" or "stored_uri"
	Value  string // the value as given, cut to a readable length
	Reason string // e.g. `contains "/"`
	Err    error  // ErrUnsafe, ErrNotFound or ErrNotRegular
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s %q %s", e.What, e.Value, e.Reason)
}

func (e *Error) Unwrap() error { return e.Err }

// maxQuoted bounds how much of a hostile value is repeated in a message.
const maxQuoted = 200

func newError(sentinel error, what, value, reason string) *Error {
	if len(value) > maxQuoted {
		value = value[:maxQuoted] + "..."
	}
	return &Error{What: what, Value: value, Reason: reason, Err: sentinel}
}

func unsafe(what, value, reason string) *Error {
	return newError(ErrUnsafe, what, value, reason)
}

func notFound(what, value, reason string) *Error {
	return newError(ErrNotFound, what, value, reason)
}

func notRegular(what, value, reason string) *Error {
	return newError(ErrNotRegular, what, value, reason)
}
