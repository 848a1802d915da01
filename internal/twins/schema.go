package twins

import (
	"fmt"
	"slices"
	"strings"
)

// Schema is what the two dialects' migrations must agree on: the tables,
// their columns and nullability, and their primary and unique keys. Types are
// left out on purpose: they differ by dialect (TEXT against NVARCHAR(36)).
// Names are kept lower-cased, as both databases compare them.
type Schema struct {
	Tables map[string]*Table
}

// Table is one table of a Schema.
type Table struct {
	Name    string
	Columns map[string]*Column
	// PrimaryKey is the primary key's columns, nil when there is none.
	PrimaryKey []string
	// Uniques are the UNIQUE constraints and unique indexes.
	Uniques []UniqueKey
}

// Column is one column of a Table.
type Column struct {
	Name    string
	NotNull bool
}

// UniqueKey is a UNIQUE constraint or a unique index.
type UniqueKey struct {
	Name    string
	Columns []string
}

func newSchema() *Schema { return &Schema{Tables: map[string]*Table{}} }

// CompareSchemas lists every difference between the SQLite and the T-SQL
// schema, one sentence each, sorted. Key columns compare as sets: the order
// of a key's columns changes its index, not which rows it allows. Whether a
// unique index is filtered (partial) is not compared: SQL Server's UNIQUE
// lets one NULL in where SQLite's lets many, so the faithful T-SQL form of a
// SQLite unique key over a nullable column is a filtered index.
func CompareSchemas(sqlite, mssql *Schema) []string {
	var diffs []string
	for _, key := range unionKeys(sqlite.Tables, mssql.Tables) {
		a, b := sqlite.Tables[key], mssql.Tables[key]
		switch {
		case b == nil:
			diffs = append(diffs, fmt.Sprintf("table %s is in the SQLite schema only", a.Name))
			continue
		case a == nil:
			diffs = append(diffs, fmt.Sprintf("table %s is in the T-SQL schema only", b.Name))
			continue
		}
		for _, ck := range unionKeys(a.Columns, b.Columns) {
			ca, cb := a.Columns[ck], b.Columns[ck]
			switch {
			case cb == nil:
				diffs = append(diffs, fmt.Sprintf("column %s.%s is in the SQLite schema only", a.Name, ca.Name))
			case ca == nil:
				diffs = append(diffs, fmt.Sprintf("column %s.%s is in the T-SQL schema only", a.Name, cb.Name))
			case ca.NotNull != cb.NotNull:
				diffs = append(diffs, fmt.Sprintf("column %s.%s is %s in SQLite but %s in T-SQL", a.Name, ca.Name, nullity(ca.NotNull), nullity(cb.NotNull)))
			}
		}
		if !sameSet(a.PrimaryKey, b.PrimaryKey) {
			diffs = append(diffs, fmt.Sprintf("table %s has primary key (%s) in SQLite but (%s) in T-SQL", a.Name, strings.Join(a.PrimaryKey, ", "), strings.Join(b.PrimaryKey, ", ")))
		}
		for _, u := range a.Uniques {
			if !hasKey(b.Uniques, u.Columns) {
				diffs = append(diffs, fmt.Sprintf("table %s: unique key %s (%s) is in SQLite only", a.Name, u.Name, strings.Join(u.Columns, ", ")))
			}
		}
		for _, u := range b.Uniques {
			if !hasKey(a.Uniques, u.Columns) {
				diffs = append(diffs, fmt.Sprintf("table %s: unique key %s (%s) is in T-SQL only", a.Name, u.Name, strings.Join(u.Columns, ", ")))
			}
		}
	}
	slices.Sort(diffs)
	return diffs
}

func nullity(notNull bool) string {
	if notNull {
		return "NOT NULL"
	}
	return "NULL"
}

func hasKey(keys []UniqueKey, cols []string) bool {
	return slices.ContainsFunc(keys, func(k UniqueKey) bool { return sameSet(k.Columns, cols) })
}

func sameSet(a, b []string) bool {
	x, y := slices.Clone(a), slices.Clone(b)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(x, y)
}

func unionKeys[V any](a, b map[string]V) []string {
	seen := map[string]bool{}
	var keys []string
	for _, m := range []map[string]V{a, b} {
		for k := range m {
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	slices.Sort(keys)
	return keys
}
