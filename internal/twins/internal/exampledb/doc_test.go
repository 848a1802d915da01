// Package db is the fixture project's gen/db: sqlc's output for
// internal/twins/testdata/good plus the mssql.sql.go that sqlc-gen-twins
// renders for it. Its tests run the rendered binding against a recording
// database/sql driver, so what the binding sends is checked, not just that it
// compiles.
package db
