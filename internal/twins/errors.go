package twins

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Error is one reason a twin cannot be bound or fails a check. It names the
// file (and line, when known) so that sqlc's output points a reviewer at the
// text to fix.
type Error struct {
	// File is the twin or query file the problem is in.
	File string
	// Line is the 1-based line in File, or 0 when the problem concerns the
	// whole query or file.
	Line int
	// Query is the name of the query, or "" when the problem concerns a file.
	Query string
	// Msg says what is wrong.
	Msg string
}

func (e *Error) Error() string {
	loc := e.File
	if e.Line > 0 {
		loc = fmt.Sprintf("%s:%d", e.File, e.Line)
	}
	if e.Query == "" {
		return loc + ": " + e.Msg
	}
	return fmt.Sprintf("%s: %s: %s", loc, e.Query, e.Msg)
}

// ErrorList is every problem found in one pass, so that one run of sqlc
// reports all of them rather than the first.
type ErrorList []*Error

func (l ErrorList) Error() string {
	msgs := make([]string, len(l))
	for i, e := range l {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// Unwrap lets errors.As find each *Error.
func (l ErrorList) Unwrap() []error {
	errs := make([]error, len(l))
	for i, e := range l {
		errs[i] = e
	}
	return errs
}

// err returns the list as an error, sorted by file, line and query so the
// output is the same on every run, or nil when the list is empty.
func (l ErrorList) err() error {
	if len(l) == 0 {
		return nil
	}
	sorted := slices.Clone(l)
	slices.SortStableFunc(sorted, func(a, b *Error) int {
		return cmp.Or(
			cmp.Compare(a.File, b.File),
			cmp.Compare(a.Line, b.Line),
			cmp.Compare(a.Query, b.Query),
			cmp.Compare(a.Msg, b.Msg),
		)
	})
	return sorted
}
