package twins

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

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
	switch typeOf(stmt) {
	case "CreateTableStatement":
		return s.createTable(stmt)
	case "AlterTableAddTableElementStatement":
		t, msg := s.table(child(stmt, "SchemaObjectName"))
		if t == nil {
			return problemAt(stmt, msg)
		}
		return t.addDefinition(child(stmt, "Definition"))
	case "AlterTableDropTableElementStatement":
		return s.dropTableElements(stmt)
	case "AlterTableAlterColumnStatement":
		return s.alterColumn(stmt)
	case "DropTableStatement":
		for _, o := range children(stmt, "Objects") {
			delete(s.Tables, strings.ToLower(identValue(o)))
		}
	case "CreateIndexStatement":
		return s.createIndex(stmt)
	case "DropIndexStatement":
		s.dropIndexes(stmt)
	}
	return nil
}

// problemAt is msg as the problem of stmt; none when msg is empty.
func problemAt(stmt node, msg string) []problem {
	if msg == "" {
		return nil
	}
	return []problem{{line(stmt), msg}}
}

// createTable applies CREATE TABLE.
func (s *Schema) createTable(stmt node) []problem {
	name := identValue(child(stmt, "SchemaObjectName"))
	key := strings.ToLower(name)
	if _, exists := s.Tables[key]; exists {
		return problemAt(stmt, fmt.Sprintf("table %s is created twice", name))
	}
	t := &Table{Name: name, Columns: map[string]*Column{}}
	s.Tables[key] = t
	return t.addDefinition(child(stmt, "Definition"))
}

// dropTableElements applies ALTER TABLE DROP of columns and constraints.
func (s *Schema) dropTableElements(stmt node) []problem {
	t, msg := s.table(child(stmt, "SchemaObjectName"))
	if t == nil {
		return problemAt(stmt, msg)
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
	return nil
}

// alterColumn applies ALTER TABLE ALTER COLUMN, which must state NULL or
// NOT NULL when it changes the type.
func (s *Schema) alterColumn(stmt node) []problem {
	t, msg := s.table(child(stmt, "SchemaObjectName"))
	if t == nil {
		return problemAt(stmt, msg)
	}
	name := identValue(child(stmt, "ColumnIdentifier"))
	col, ok := t.Columns[strings.ToLower(name)]
	if !ok {
		return problemAt(stmt, fmt.Sprintf("ALTER COLUMN %s.%s: no such column", t.Name, name))
	}
	switch str(stmt, "AlterTableAlterColumnOption") {
	case "NotNull":
		col.NotNull = true
	case "Null":
		col.NotNull = false
	default:
		if child(stmt, "DataType") != nil {
			return problemAt(stmt, fmt.Sprintf("ALTER COLUMN %s.%s: state NULL or NOT NULL (the default depends on session settings)", t.Name, name))
		}
	}
	return nil
}

// createIndex applies CREATE UNIQUE INDEX; other indexes change nothing a
// Schema holds.
func (s *Schema) createIndex(stmt node) []problem {
	if b, _ := stmt["Unique"].(bool); !b {
		return nil
	}
	t, msg := s.table(child(stmt, "OnName"))
	if t == nil {
		return problemAt(stmt, msg)
	}
	t.Uniques = append(t.Uniques, UniqueKey{Name: identValue(child(stmt, "Name")), Columns: keyColumns(children(stmt, "Columns"))})
	return nil
}

// dropIndexes applies DROP INDEX; an index of a table the Schema does not
// hold is passed over.
func (s *Schema) dropIndexes(stmt node) {
	for _, c := range children(stmt, "DropIndexClauses") {
		t, _ := s.table(child(c, "Object"))
		if t == nil {
			continue
		}
		name := identValue(child(c, "Index"))
		t.Uniques = slices.DeleteFunc(t.Uniques, func(u UniqueKey) bool { return strings.EqualFold(u.Name, name) })
	}
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
