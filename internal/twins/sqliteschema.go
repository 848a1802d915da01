package twins

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
)

// ReadSQLiteSchema reads the Schema of a SQLite database the migrations were
// applied to, from SQLite's own catalog, so it is what SQLite made of the
// DDL and not a second reading of it.
func ReadSQLiteSchema(ctx context.Context, db *sql.DB) (*Schema, error) {
	s := newSchema()
	type tableRow struct{ name, sql string }
	var tables []tableRow
	rows, err := db.QueryContext(ctx, `SELECT name, COALESCE(sql, '') FROM sqlite_schema
		WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\' AND name <> 'goose_db_version'
		ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list SQLite tables: %w", err)
	}
	for rows.Next() {
		var r tableRow
		if err := rows.Scan(&r.name, &r.sql); err != nil {
			rows.Close()
			return nil, fmt.Errorf("list SQLite tables: %w", err)
		}
		tables = append(tables, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list SQLite tables: %w", err)
	}
	for _, tr := range tables {
		t := &Table{Name: tr.name, Columns: map[string]*Column{}}
		if err := readSQLiteColumns(ctx, db, t, strings.Contains(strings.ToUpper(tr.sql), "WITHOUT ROWID")); err != nil {
			return nil, err
		}
		if err := readSQLiteUniques(ctx, db, t); err != nil {
			return nil, err
		}
		s.Tables[strings.ToLower(tr.name)] = t
	}
	return s, nil
}

func readSQLiteColumns(ctx context.Context, db *sql.DB, t *Table, withoutRowid bool) error {
	rows, err := db.QueryContext(ctx, `SELECT name, type, "notnull", pk FROM pragma_table_info(?) ORDER BY cid`, t.Name)
	if err != nil {
		return fmt.Errorf("read columns of %s: %w", t.Name, err)
	}
	defer rows.Close()
	type pkCol struct {
		name, typ string
		pos       int
	}
	var pk []pkCol
	for rows.Next() {
		var (
			name, typ string
			notNull   bool
			pos       int
		)
		if err := rows.Scan(&name, &typ, &notNull, &pos); err != nil {
			return fmt.Errorf("read columns of %s: %w", t.Name, err)
		}
		t.Columns[strings.ToLower(name)] = &Column{Name: name, NotNull: notNull || pos > 0 && withoutRowid}
		if pos > 0 {
			pk = append(pk, pkCol{strings.ToLower(name), typ, pos})
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read columns of %s: %w", t.Name, err)
	}
	slices.SortFunc(pk, func(a, b pkCol) int { return a.pos - b.pos })
	for _, c := range pk {
		t.PrimaryKey = append(t.PrimaryKey, c.name)
	}
	// An INTEGER PRIMARY KEY is the rowid: NULL there means "assign one", so
	// the column never holds NULL. Any other primary key column of a rowid
	// table does accept NULL unless it says NOT NULL, which SQL Server never
	// allows; that difference is reported, not hidden.
	if len(pk) == 1 && strings.EqualFold(pk[0].typ, "INTEGER") {
		t.Columns[pk[0].name].NotNull = true
	}
	return nil
}

func readSQLiteUniques(ctx context.Context, db *sql.DB, t *Table) error {
	rows, err := db.QueryContext(ctx, `SELECT name, origin FROM pragma_index_list(?) WHERE "unique" = 1 ORDER BY name`, t.Name)
	if err != nil {
		return fmt.Errorf("read unique keys of %s: %w", t.Name, err)
	}
	var names []string
	for rows.Next() {
		var name, origin string
		if err := rows.Scan(&name, &origin); err != nil {
			rows.Close()
			return fmt.Errorf("read unique keys of %s: %w", t.Name, err)
		}
		if origin != "pk" {
			names = append(names, name)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read unique keys of %s: %w", t.Name, err)
	}
	for _, name := range names {
		cols, err := sqliteIndexColumns(ctx, db, name)
		if err != nil {
			return fmt.Errorf("read unique key %s of %s: %w", name, t.Name, err)
		}
		t.Uniques = append(t.Uniques, UniqueKey{Name: name, Columns: cols})
	}
	return nil
}

func sqliteIndexColumns(ctx context.Context, db *sql.DB, index string) ([]string, error) {
	rows, err := db.QueryContext(ctx, `SELECT name FROM pragma_index_info(?) ORDER BY seqno`, index)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var cols []string
	for rows.Next() {
		var name sql.NullString
		if err := rows.Scan(&name); err != nil {
			return nil, err
		}
		if !name.Valid {
			// An expression in the index has no column name.
			name.String = "(expression)"
		}
		cols = append(cols, strings.ToLower(name.String))
	}
	return cols, rows.Err()
}
