package twins

import (
	"fmt"
	"strings"
)

// resultSet is the column list of one statement that returns rows.
type resultSet struct {
	line    int
	columns []resultColumn
}

type resultColumn struct {
	// name is the column's name in the result, or "" when it has none.
	name string
	// star is set for * and inserted.*, whose columns the AST cannot list.
	star bool
	line int
}

// resultSets returns the statements of a script that send rows to the
// client: a SELECT that neither assigns variables nor writes INTO a table,
// and an INSERT, UPDATE, DELETE or MERGE with an OUTPUT clause (OUTPUT ...
// INTO a table sends nothing).
func resultSets(root node) []resultSet {
	var sets []resultSet
	visit(root, func(n, _ node, _ string) bool {
		if out := child(n, "OutputClause"); out != nil {
			sets = append(sets, resultSet{line: line(out), columns: selectColumns(children(out, "SelectColumns"))})
		}
		if typeOf(n) != "SelectStatement" || child(n, "Into") != nil {
			return true
		}
		spec := firstQuerySpec(child(n, "QueryExpression"))
		if spec == nil {
			return true
		}
		elements := children(spec, "SelectElements")
		for _, e := range elements {
			if typeOf(e) == "SelectSetVariable" {
				return true
			}
		}
		sets = append(sets, resultSet{line: line(n), columns: selectColumns(elements)})
		return true
	})
	return sets
}

// firstQuerySpec returns the query whose select list names the columns of a
// query expression: the first operand of a UNION, INTERSECT or EXCEPT.
func firstQuerySpec(q node) node {
	for q != nil {
		switch typeOf(q) {
		case "QuerySpecification":
			return q
		case "BinaryQueryExpression":
			q = child(q, "FirstQueryExpression")
		case "QueryParenthesisExpression":
			q = child(q, "QueryExpression")
		default:
			return nil
		}
	}
	return nil
}

// selectColumns names the columns of a select list: the AS alias, else the
// name of a plain column reference, else nothing.
func selectColumns(elements []node) []resultColumn {
	cols := make([]resultColumn, 0, len(elements))
	for _, e := range elements {
		c := resultColumn{line: line(e)}
		switch typeOf(e) {
		case "SelectStarExpression":
			c.star = true
		case "SelectScalarExpression":
			if alias := child(e, "ColumnName"); alias != nil {
				c.name = str(alias, "Value")
				if c.name == "" {
					c.name = identValue(child(alias, "Identifier"))
				}
			} else if expr := child(e, "Expression"); typeOf(expr) == "ColumnReferenceExpression" && str(expr, "ColumnType") == "Regular" {
				c.name = identValue(child(expr, "MultiPartIdentifier"))
			}
		}
		cols = append(cols, c)
	}
	return cols
}

// checkColumns compares the columns a twin returns with the ones the
// generated method scans. The method scans by position, so the count and the
// order must match; the names must match too, so that a twin cannot return
// the right number of wrong columns. Every statement that returns rows is
// checked, which lets IF ... ELSE return the same columns on either branch.
func checkColumns(q Query, t Twin, root node) ErrorList {
	if q.Columns == nil {
		return nil
	}
	var errs ErrorList
	fail := func(line int, format string, args ...any) {
		errs = append(errs, &Error{File: t.File, Line: line, Query: t.Name, Msg: fmt.Sprintf(format, args...)})
	}
	sets := resultSets(root)
	if len(sets) == 0 {
		fail(t.Line, "is %s but returns no rows: end with a SELECT or an OUTPUT clause returning %s", q.Cmd, strings.Join(q.Columns, ", "))
		return errs
	}
	for _, set := range sets {
		setLine := t.BodyLine + set.line - 1
		got := make([]string, len(set.columns))
		ok := true
		for i, c := range set.columns {
			got[i] = c.name
			switch {
			case c.star:
				fail(t.BodyLine+c.line-1, "result column %d is a *: list the columns so they can be checked against the %d the generated method scans", i+1, len(q.Columns))
				ok = false
			case c.name == "":
				fail(t.BodyLine+c.line-1, "result column %d has no name: give it an AS alias", i+1)
				ok = false
			}
		}
		if !ok {
			continue
		}
		if !sameNames(got, q.Columns) {
			fail(setLine, "returns columns (%s) but the generated method scans (%s)", strings.Join(got, ", "), strings.Join(q.Columns, ", "))
		}
	}
	return errs
}

func sameNames(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !strings.EqualFold(a[i], b[i]) {
			return false
		}
	}
	return true
}
