package store

import (
	"database/sql/driver"
	"errors"
	"io"
	"net"

	mssql "github.com/microsoft/go-mssqldb"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// ErrorClass says whether a failed statement may succeed when sent again.
type ErrorClass int

const (
	// ErrorUnknown is neither known to pass nor known to stay: a caller
	// retries it within its own bound.
	ErrorUnknown ErrorClass = iota
	// ErrorTransient passes by itself: a lock, a deadlock, a dropped
	// connection. Sending the same statement again may succeed.
	ErrorTransient
	// ErrorPermanent is in the data: a constraint, a value too long or of
	// the wrong type. The same statement fails the same way every time.
	ErrorPermanent
)

func (c ErrorClass) String() string {
	switch c {
	case ErrorTransient:
		return "transient"
	case ErrorPermanent:
		return "permanent"
	}
	return "unknown"
}

// permanentCodes are SQL Server errors about the data a statement carries.
var permanentCodes = map[int32]bool{
	2627: true, // violation of a primary key or unique constraint
	2601: true, // duplicate key in a unique index
	547:  true, // foreign key or check constraint
	8152: true, // string or binary data would be truncated
	2628: true, // string or binary data would be truncated (naming the column)
	245:  true, // conversion failed (a value to a number)
	8114: true, // error converting a data type
	241:  true, // conversion failed (a date or time from text)
	515:  true, // NULL into a NOT NULL column
}

// lockCodes are SQL Server errors after which the same statement may pass:
// a deadlock victim and a lock timeout, beside the transient codes the
// retry policy already knows (Azure's failovers and throttling).
var lockCodes = map[int32]bool{
	1205: true, // chosen as deadlock victim
	1222: true, // lock request time out period exceeded
}

// Classify says whether err, from a statement on either dialect, is
// transient, permanent or unknown. A transient cause anywhere in a SQL
// Server batch wins over a permanent one: the deadlock rolled the
// statement back before its data was judged.
func Classify(err error) ErrorClass {
	if err == nil {
		return ErrorUnknown
	}
	if c := classifySQLite(err); c != ErrorUnknown {
		return c
	}
	if c := classifyMSSQL(err); c != ErrorUnknown {
		return c
	}
	var netErr net.Error
	switch {
	case errors.Is(err, driver.ErrBadConn), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.As(err, &netErr):
		return ErrorTransient
	}
	return ErrorUnknown
}

// IsPermanent reports whether err will recur however often the statement
// is sent again.
func IsPermanent(err error) bool { return Classify(err) == ErrorPermanent }

// IsRetryable reports whether err is known to pass by itself (see
// ErrorTransient).
func IsRetryable(err error) bool { return Classify(err) == ErrorTransient }

// classifySQLite reads the primary result code of a SQLite error.
func classifySQLite(err error) ErrorClass {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return ErrorUnknown
	}
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
		return ErrorTransient
	case sqlite3.SQLITE_CONSTRAINT, sqlite3.SQLITE_TOOBIG, sqlite3.SQLITE_MISMATCH, sqlite3.SQLITE_RANGE:
		return ErrorPermanent
	}
	return ErrorUnknown
}

// classifyMSSQL reads the error numbers of a SQL Server error and of every
// error of its batch.
func classifyMSSQL(err error) ErrorClass {
	var me mssql.Error
	if !errors.As(err, &me) {
		var mp *mssql.Error
		if !errors.As(err, &mp) || mp == nil {
			return ErrorUnknown
		}
		me = *mp
	}
	numbers := []int32{me.Number}
	for _, each := range me.All {
		numbers = append(numbers, each.Number)
	}
	class := ErrorUnknown
	for _, n := range numbers {
		switch {
		case lockCodes[n] || transientCodes[n]:
			return ErrorTransient
		case permanentCodes[n]:
			class = ErrorPermanent
		}
	}
	return class
}
