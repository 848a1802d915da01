// Package schema embeds the goose migrations of both dialects, so the binary
// can migrate a database with no files beside it.
package schema

import "embed"

// FS holds sqlite/*.sql and mssql/*.sql.
//
//go:embed sqlite/*.sql mssql/*.sql
var FS embed.FS
