package twins

import (
	"context"
	"database/sql"
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

// ReadTSQLSchema applies the Up sections of T-SQL migrations, in order, to
// an empty Schema by reading their AST: CREATE and DROP TABLE, ALTER TABLE
// ADD, DROP and ALTER COLUMN, CREATE and DROP INDEX. Statements that do not
// change what a Schema holds (triggers, plain indexes, data) are passed over.
func ReadTSQLSchema(ctx context.Context, migrations []Migration) (*Schema, error) {
	s := newSchema()
	var errs ErrorList
	for _, m := range migrations {
		for _, c := range m.Up {
			root, err := parseTSQL(ctx, c.Text)
			if err != nil {
				errs = append(errs, &Error{File: m.File, Line: c.Line, Msg: fmt.Sprintf("does not parse as T-SQL: %v", err)})
				continue
			}
			for _, stmt := range statements(root) {
				for _, p := range s.applyTSQL(stmt) {
					errs = append(errs, &Error{File: m.File, Line: c.Line + p.line - 1, Msg: p.msg})
				}
			}
		}
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	return s, nil
}

// statements returns the statements of a script in order, including those
// inside BEGIN ... END, IF and WHILE (a migration may guard a CREATE with IF
// NOT EXISTS), but not those inside a trigger or procedure body.
func statements(root node) []node {
	var out []node
	visit(root, func(n, _ node, _ string) bool {
		t := typeOf(n)
		switch {
		case t == "TSqlScript" || t == "TSqlBatch" || t == "StatementList":
			return true
		case t == "BeginEndBlockStatement" || t == "IfStatement" || t == "WhileStatement":
			return true
		case strings.HasSuffix(t, "Statement"):
			out = append(out, n)
			return false
		}
		return false
	})
	return out
}

// problem is something wrong with a statement, at a line of its chunk.
type problem struct {
	line int
	msg  string
}

// applyTSQL applies one statement and returns what is wrong with it.
func (s *Schema) applyTSQL(stmt node) []problem {
	at := func(msg string) []problem {
		if msg == "" {
			return nil
		}
		return []problem{{line(stmt), msg}}
	}
	switch typeOf(stmt) {
	case "CreateTableStatement":
		name := identValue(child(stmt, "SchemaObjectName"))
		key := strings.ToLower(name)
		if _, exists := s.Tables[key]; exists {
			return at(fmt.Sprintf("table %s is created twice", name))
		}
		t := &Table{Name: name, Columns: map[string]*Column{}}
		s.Tables[key] = t
		return t.addDefinition(child(stmt, "Definition"))
	case "AlterTableAddTableElementStatement":
		t, msg := s.table(child(stmt, "SchemaObjectName"))
		if t == nil {
			return at(msg)
		}
		return t.addDefinition(child(stmt, "Definition"))
	case "AlterTableDropTableElementStatement":
		t, msg := s.table(child(stmt, "SchemaObjectName"))
		if t == nil {
			return at(msg)
		}
		for _, e := range children(stmt, "AlterTableDropTableElements") {
			name := strings.ToLower(identValue(child(e, "Name")))
			switch str(e, "TableElementType") {
			case "Constraint":
				t.Uniques = slices.DeleteFunc(t.Uniques, func(u UniqueKey) bool { return strings.EqualFold(u.Name, name) })
			case "Column", "NotSpecified":
				delete(t.Columns, name)
			}
		}
	case "AlterTableAlterColumnStatement":
		t, msg := s.table(child(stmt, "SchemaObjectName"))
		if t == nil {
			return at(msg)
		}
		name := identValue(child(stmt, "ColumnIdentifier"))
		col, ok := t.Columns[strings.ToLower(name)]
		if !ok {
			return at(fmt.Sprintf("ALTER COLUMN %s.%s: no such column", t.Name, name))
		}
		switch str(stmt, "AlterTableAlterColumnOption") {
		case "NotNull":
			col.NotNull = true
		case "Null":
			col.NotNull = false
		default:
			if child(stmt, "DataType") != nil {
				return at(fmt.Sprintf("ALTER COLUMN %s.%s: state NULL or NOT NULL (the default depends on session settings)", t.Name, name))
			}
		}
	case "DropTableStatement":
		for _, o := range children(stmt, "Objects") {
			delete(s.Tables, strings.ToLower(identValue(o)))
		}
	case "CreateIndexStatement":
		if b, _ := stmt["Unique"].(bool); !b {
			return nil
		}
		t, msg := s.table(child(stmt, "OnName"))
		if t == nil {
			return at(msg)
		}
		t.Uniques = append(t.Uniques, UniqueKey{Name: identValue(child(stmt, "Name")), Columns: keyColumns(children(stmt, "Columns"))})
	case "DropIndexStatement":
		for _, c := range children(stmt, "DropIndexClauses") {
			t, _ := s.table(child(c, "Object"))
			if t == nil {
				continue
			}
			name := identValue(child(c, "Index"))
			t.Uniques = slices.DeleteFunc(t.Uniques, func(u UniqueKey) bool { return strings.EqualFold(u.Name, name) })
		}
	}
	return nil
}

func (s *Schema) table(name node) (*Table, string) {
	n := identValue(name)
	t, ok := s.Tables[strings.ToLower(n)]
	if !ok {
		return nil, fmt.Sprintf("table %s is altered before it is created", n)
	}
	return t, ""
}

// addDefinition adds the columns and constraints of a CREATE TABLE or ALTER
// TABLE ADD.
func (t *Table) addDefinition(def node) []problem {
	var problems []problem
	for _, cd := range children(def, "ColumnDefinitions") {
		name := identValue(child(cd, "ColumnIdentifier"))
		col := &Column{Name: name}
		stated := false
		// An IDENTITY column cannot hold NULL.
		if child(cd, "IdentityOptions") != nil {
			col.NotNull, stated = true, true
		}
		for _, c := range children(cd, "Constraints") {
			switch typeOf(c) {
			case "NullableConstraintDefinition":
				nullable, _ := c["Nullable"].(bool)
				col.NotNull = col.NotNull || !nullable
				stated = true
			case "UniqueConstraintDefinition":
				key := []string{strings.ToLower(name)}
				if pk, _ := c["IsPrimaryKey"].(bool); pk {
					t.PrimaryKey = key
					col.NotNull, stated = true, true
				} else {
					t.Uniques = append(t.Uniques, UniqueKey{Name: identValue(child(c, "ConstraintIdentifier")), Columns: key})
				}
			}
		}
		if !stated {
			problems = append(problems, problem{line(cd), fmt.Sprintf("column %s.%s: state NULL or NOT NULL (the default depends on session settings)", t.Name, name)})
		}
		t.Columns[strings.ToLower(name)] = col
	}
	for _, c := range children(def, "TableConstraints") {
		if typeOf(c) != "UniqueConstraintDefinition" {
			continue
		}
		cols := keyColumns(children(c, "Columns"))
		if pk, _ := c["IsPrimaryKey"].(bool); pk {
			t.PrimaryKey = cols
			// SQL Server makes every primary key column NOT NULL.
			for _, k := range cols {
				if col, ok := t.Columns[k]; ok {
					col.NotNull = true
				}
			}
			continue
		}
		t.Uniques = append(t.Uniques, UniqueKey{Name: identValue(child(c, "ConstraintIdentifier")), Columns: cols})
	}
	return problems
}

// keyColumns reads the lower-cased column names of a key or index.
func keyColumns(cols []node) []string {
	out := make([]string, 0, len(cols))
	for _, c := range cols {
		out = append(out, strings.ToLower(identValue(child(child(c, "Column"), "MultiPartIdentifier"))))
	}
	return out
}

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
