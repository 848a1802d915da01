// Package dbtime is the timestamp type of the generated queries.
//
// The ADE API stores SQLite timestamps as UTC text in one fixed-width form,
// "YYYY-MM-DD HH:MM:SS.ffffff", and compares them as text. A time.Time handed
// to the SQLite driver would be written in another form ("...+00:00"), which
// sorts wrongly against the API's rows, so every timestamp the worker writes
// or compares goes through Time, whose Value is that fixed-width text. On SQL
// Server the T-SQL casts the text to DATETIME2 and the driver scans DATETIME2
// back as time.Time, which Scan accepts too.
package dbtime

import (
	"database/sql/driver"
	"fmt"
	"strings"
	"time"
)

// Layout is the fixed-width UTC text form shared with the ADE API.
const Layout = "2006-01-02 15:04:05.000000"

// Time is a UTC instant stored in the API's fixed-width text form.
type Time struct{ time.Time }

// From converts t to UTC.
func From(t time.Time) Time { return Time{t.UTC()} }

// Now is the host's clock as a Time.
func Now() Time { return From(time.Now()) }

// String is the stored form.
func (t Time) String() string { return t.UTC().Format(Layout) }

// Value writes the fixed-width text form.
func (t Time) Value() (driver.Value, error) { return t.String(), nil }

// Scan accepts the API's text form (and a few tolerant variants) or a
// time.Time from drivers that parse timestamps themselves.
func (t *Time) Scan(src any) error {
	switch v := src.(type) {
	case time.Time:
		t.Time = v.UTC()
		return nil
	case string:
		return t.parse(v)
	case []byte:
		return t.parse(string(v))
	case nil:
		return fmt.Errorf("dbtime: cannot scan NULL into Time")
	default:
		return fmt.Errorf("dbtime: cannot scan %T into Time", src)
	}
}

var layouts = []string{
	Layout,
	"2006-01-02 15:04:05.999999999",
	"2006-01-02 15:04:05",
	"2006-01-02T15:04:05.999999999",
	time.RFC3339Nano,
	"2006-01-02 15:04:05.999999999-07:00",
	"2006-01-02 15:04:05.999999999Z07:00",
}

func (t *Time) parse(s string) error {
	s = strings.TrimSpace(s)
	for _, l := range layouts {
		if v, err := time.Parse(l, s); err == nil {
			t.Time = v.UTC()
			return nil
		}
	}
	return fmt.Errorf("dbtime: cannot parse %q as a timestamp", s)
}

// NullTime is a Time that may be NULL.
type NullTime struct {
	Time  Time
	Valid bool
}

// Null returns a valid NullTime for t.
func Null(t time.Time) NullTime { return NullTime{Time: From(t), Valid: true} }

// Value writes NULL or the fixed-width text form.
func (n NullTime) Value() (driver.Value, error) {
	if !n.Valid {
		return nil, nil
	}
	return n.Time.Value()
}

// Scan accepts NULL or anything Time accepts.
func (n *NullTime) Scan(src any) error {
	if src == nil {
		n.Time, n.Valid = Time{}, false
		return nil
	}
	if err := n.Time.Scan(src); err != nil {
		return err
	}
	n.Valid = true
	return nil
}
