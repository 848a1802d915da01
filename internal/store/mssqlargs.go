package store

import (
	"database/sql"

	"github.com/golang-sql/civil"
	mssql "github.com/microsoft/go-mssqldb"

	"github.com/ade-dev/ade-worker/internal/dbtime"
)

// freeText are the parameters that carry free text or JSON: messages,
// paths, versions, names from a run summary, the JSON of run options and
// of the result inserts. go-mssqldb declares a Go string as nvarchar(n), n
// being its length, and SQL Server keys a cached plan on the declared
// types, so every new length of an error message or a JSON chunk would
// compile and cache another plan of the same statement. These are sent as
// NVARCHAR(MAX) instead: one declared type whatever their length (a NULL
// is still declared nvarchar(4000), as go-mssqldb has no typed NULL of
// NVARCHAR(MAX); that is two plans at most).
//
// Keys (ids, the environment key, worker and status names) keep their
// nvarchar(n): their lengths are fixed or few, and a key compared with an
// NVARCHAR(MAX) value may lose its index seek.
var freeText = map[string]bool{
	"columns":                 true,
	"engine_version":          true,
	"error_message":           true,
	"evaluation_outcome":      true,
	"fields":                  true,
	"input_sheet_names":       true,
	"original_filename":       true,
	"output_path":             true,
	"python_interpreter":      true,
	"python_version":          true,
	"run_options":             true,
	"stored_uri":              true,
	"validation_max_severity": true,
}

// mssqlArgs types the arguments of a T-SQL statement for go-mssqldb; it is
// the db.MSSQLArgs of every Queries the store hands out on SQL Server.
//
//   - A bare nil becomes a NULL typed NVARCHAR: go-mssqldb sends an untyped
//     nil as TDS type 0x1F, which SQL Server reads as nvarchar(1) and
//     Babelfish refuses. Every parameter that may be nil (now) is CAST by
//     the T-SQL to the type it needs.
//   - Free text becomes NVARCHAR(MAX) (see freeText).
//   - A dbtime.Time becomes DATETIME2 with all seven decimals. Its Value is
//     the SQLite text form, which has six: an instant read back from SQL
//     Server (a paging cursor, a fence) would otherwise come back a
//     fraction of a microsecond earlier than the row it came from.
func mssqlArgs(params []string, args []any) []any {
	out := make([]any, len(args))
	for i, a := range args {
		text := i < len(params) && freeText[params[i]]
		out[i] = mssqlArg(a, text)
	}
	return out
}

func mssqlArg(a any, text bool) any {
	switch v := a.(type) {
	case nil:
		return sql.NullString{}
	case string:
		if text {
			return mssql.NVarCharMax(v)
		}
	case sql.NullString:
		if text && v.Valid {
			return mssql.NVarCharMax(v.String)
		}
	case dbtime.Time:
		return civil.DateTimeOf(v.UTC())
	case dbtime.NullTime:
		if !v.Valid {
			return mssql.NullDateTime{}
		}
		return civil.DateTimeOf(v.Time.UTC())
	}
	return a
}
