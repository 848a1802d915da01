package results

import (
	"fmt"
	"unicode/utf16"
)

// The longest text the worker stores, the same on both databases: SQLite
// would keep any length, SQL Server's columns hold this much (NVARCHAR(400)
// for a field name, which is part of a key, NVARCHAR(4000) for the other
// text of a summary; table headers are NVARCHAR(MAX) and have no limit).
// Lengths count UTF-16 code units, as NVARCHAR(n) does: a character beyond
// the Basic Multilingual Plane (an emoji) counts two.
const (
	MaxNameLength = 400
	MaxTextLength = 4000
)

// maxNotes bounds Summary.TooLong: a summary with thousands of overlong
// values is reported by its first few and a count.
const maxNotes = 10

// textLength is s's length as NVARCHAR counts it.
func textLength(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// limiter leaves out what is longer than the database stores, and notes it.
type limiter struct {
	notes []string
	more  int
}

func (l *limiter) note(format string, args ...any) {
	if len(l.notes) < maxNotes {
		l.notes = append(l.notes, fmt.Sprintf(format, args...))
		return
	}
	l.more++
}

// text returns v, or nil when it is longer than max, noting where.
func (l *limiter) text(v *string, max int, where string) *string {
	if v == nil {
		return nil
	}
	if n := textLength(*v); n > max {
		l.note("%s is %d characters long; at most %d are stored, so it was left out", where, n, max)
		return nil
	}
	return v
}

// applyLimits leaves out of s every value longer than the database stores:
// a field whose name is too long is dropped whole (the name is its key),
// any other overlong value becomes absent. What was left out is listed in
// s.TooLong.
func applyLimits(s *Summary) {
	var l limiter
	if m := s.Metrics; m != nil {
		m.EvaluationOutcome = l.text(m.EvaluationOutcome, MaxTextLength, "evaluation.outcome")
		m.ValidationMaxSeverity = l.text(m.ValidationMaxSeverity, MaxTextLength, "validation.max_severity")
		if *m == (Metrics{}) {
			s.Metrics = nil
		}
	}
	kept := s.Fields[:0]
	for _, f := range s.Fields {
		if n := textLength(f.Field); n > MaxNameLength {
			l.note("the field named %q is %d characters long; at most %d are stored, so the field was left out",
				abbreviate(f.Field), n, MaxNameLength)
			s.SkippedFields++
			continue
		}
		f.Label = l.text(f.Label, MaxTextLength, fmt.Sprintf("the label of field %q", f.Field))
		kept = append(kept, f)
	}
	s.Fields = kept
	for i := range s.Columns {
		c := &s.Columns[i]
		where := fmt.Sprintf("workbook %d, sheet %d, table %d, column %d", c.WorkbookIndex, c.SheetIndex, c.TableIndex, c.ColumnIndex)
		c.WorkbookName = l.text(c.WorkbookName, MaxTextLength, "the workbook name of "+where)
		c.SheetName = l.text(c.SheetName, MaxTextLength, "the sheet name of "+where)
		c.MappedField = l.text(c.MappedField, MaxNameLength, "the mapped field of "+where)
		c.MappingMethod = l.text(c.MappingMethod, MaxTextLength, "the mapping method of "+where)
		c.UnmappedReason = l.text(c.UnmappedReason, MaxTextLength, "the unmapped reason of "+where)
	}
	s.TooLong = l.notes
	if l.more > 0 {
		s.TooLong = append(s.TooLong, fmt.Sprintf("and %d more values too long to store", l.more))
	}
}

// abbreviate is the start of a long name, for a message.
func abbreviate(s string) string {
	r := []rune(s)
	if len(r) <= 40 {
		return s
	}
	return string(r[:40]) + "…"
}
