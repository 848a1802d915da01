// Package twins binds the hand-written T-SQL twin of every query to the Go
// method sqlc generates from the SQLite query of the same name.
//
// sqlc has no SQL Server engine, so the SQLite queries in sql/queries/sqlite
// are what it compiles into gen/db, and sql/queries/mssql holds a reviewed
// T-SQL text for each of them with the same "-- name:" header and the same
// named parameters. The generated methods pass their arguments in the order of
// the SQLite query's numbered parameters (?1, ?2, ...), and go-mssqldb binds
// positional arguments as @p1, @p2, ... . Binding therefore rewrites each
// @name of a twin to @pN, where N is the number sqlc gave that name, and
// nothing else: the T-SQL a reviewer read is the T-SQL that runs.
//
// Binding refuses to go on when a twin is missing or extra, is defined twice,
// declares a different :cmd, names a parameter the query does not have, leaves
// one out, does not parse as T-SQL, or (for :one and :many) returns columns
// other than the ones the generated method scans. Render then writes
// gen/db/mssql.sql.go, which swaps the SQLite text for the bound T-SQL text on
// every call a Queries from NewMSSQL makes.
//
// The package also holds the checks the static tests run on the repository's
// own SQL: claim hints, DATETIME2 casts of time parameters, goose migrations
// and the comparison of the SQLite and T-SQL schemas.
package twins
