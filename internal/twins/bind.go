package twins

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// Query is one SQLite query as sqlc compiled it into gen/db.
type Query struct {
	// Name is the query name, e.g. ClaimRun; it is also the method name.
	Name string
	// Cmd is the sqlc command, e.g. :one.
	Cmd string
	// File is the SQLite query file, for messages.
	File string
	// Const is the unexported gen/db constant holding the text the generated
	// method passes to the database, e.g. claimRun.
	Const string
	// Params are the query's parameters; the generated method passes one
	// argument per parameter in Number order.
	Params []Param
	// Columns are the names of the result columns the generated method scans,
	// in order, for :one and :many. Nil means they are not known and are not
	// checked.
	Columns []string
}

// Param is one numbered parameter of a SQLite query.
type Param struct {
	// Number is N of ?N: the position of the argument the generated method
	// passes for it.
	Number int
	// Name is the parameter's name, which the twin writes as @Name.
	Name string
	// Anonymous is set when the SQLite query wrote a bare ? and sqlc made up
	// the name from a column; a twin cannot be trusted to guess it.
	Anonymous bool
	// Slice is set for sqlc.slice, which sqlc expands at run time into as
	// many ? as the slice has items; a T-SQL twin has no such expansion.
	Slice bool
}

// Bound is a twin bound to its SQLite query.
type Bound struct {
	Query Query
	Twin  Twin
	// SQL is the text to send to SQL Server: a "-- name:" header line, then
	// the twin's text with each parameter @name replaced by @pN.
	SQL string
}

// cmds are the sqlc commands a twin may carry. :execlastid is left out on
// purpose: go-mssqldb has no LastInsertId, so such a query must return the
// key with OUTPUT inserted.id as :one instead.
var cmds = map[string]bool{":one": true, ":many": true, ":exec": true, ":execrows": true, ":execresult": true}

// boundName matches the names go-mssqldb gives positional arguments; a
// DECLAREd variable named so would collide with them.
var boundName = regexp.MustCompile(`(?i)^p[0-9]+$`)

// Bind pairs each query with the twin of the same name and binds it. It
// checks every pair and returns every problem it finds as an ErrorList;
// Bound values come back sorted by name and only when there is no problem.
func Bind(ctx context.Context, queries []Query, twins []Twin) ([]Bound, error) {
	var errs ErrorList
	byName := map[string]Twin{}
	for _, t := range twins {
		if first, dup := byName[t.Name]; dup {
			errs = append(errs, &Error{File: t.File, Line: t.Line, Query: t.Name,
				Msg: fmt.Sprintf("twin defined twice (first at %s:%d)", first.File, first.Line)})
			continue
		}
		byName[t.Name] = t
	}
	queryNames := map[string]bool{}
	var bound []Bound
	for _, q := range queries {
		if queryNames[q.Name] {
			errs = append(errs, &Error{File: q.File, Query: q.Name, Msg: "two SQLite queries have this name"})
			continue
		}
		queryNames[q.Name] = true
		t, ok := byName[q.Name]
		if !ok {
			errs = append(errs, &Error{File: q.File, Query: q.Name, Msg: "has no T-SQL twin"})
			continue
		}
		sql, bindErrs := BindOne(ctx, q, t)
		if len(bindErrs) > 0 {
			errs = append(errs, bindErrs...)
			continue
		}
		bound = append(bound, Bound{Query: q, Twin: t, SQL: sql})
	}
	for _, t := range twins {
		if !queryNames[t.Name] {
			errs = append(errs, &Error{File: t.File, Line: t.Line, Query: t.Name, Msg: "twin has no SQLite query of this name"})
		}
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	slices.SortFunc(bound, func(a, b Bound) int { return strings.Compare(a.Query.Name, b.Query.Name) })
	return bound, nil
}

// BindOne binds one twin to its query and returns the T-SQL to run, or every
// reason it cannot.
func BindOne(ctx context.Context, q Query, t Twin) (string, ErrorList) {
	var errs ErrorList
	fail := func(line int, format string, args ...any) {
		errs = append(errs, &Error{File: t.File, Line: line, Query: t.Name, Msg: fmt.Sprintf(format, args...)})
	}
	if t.Cmd != q.Cmd {
		fail(t.Line, "twin is %s but the SQLite query in %s is %s", t.Cmd, q.File, q.Cmd)
	} else if !cmds[q.Cmd] {
		fail(t.Line, "%s is not supported for SQL Server twins (go-mssqldb has no LastInsertId: return the key with OUTPUT as :one)", q.Cmd)
	}
	params := map[string]Param{}
	for _, p := range q.Params {
		switch {
		case p.Slice:
			errs = append(errs, &Error{File: q.File, Query: q.Name, Msg: fmt.Sprintf("sqlc.slice(%s) cannot be mirrored in T-SQL: sqlc expands it at run time", p.Name)})
		case p.Anonymous:
			errs = append(errs, &Error{File: q.File, Query: q.Name, Msg: fmt.Sprintf("parameter %d is an anonymous ?: write it as @name or sqlc.arg(name) so its twin binds by name", p.Number)})
		}
		params[p.Name] = p
	}

	uses, err := scanVars(t.Text)
	if err != nil {
		fail(t.BodyLine, "cannot read the T-SQL: %v", err)
		return "", errs
	}
	root, err := parseTSQL(ctx, t.Text)
	if err != nil {
		fail(t.BodyLine, "does not parse as T-SQL: %v", err)
		return "", errs
	}

	declared := declaredVariables(root)
	for _, name := range sortedNames(declared) {
		decl := declared[name]
		declLine := t.BodyLine + line(decl) - 1
		written := strings.TrimPrefix(str(decl, "Value"), "@")
		for _, p := range q.Params {
			if strings.EqualFold(p.Name, name) {
				fail(declLine, "DECLAREs @%s, which is a parameter of the query", written)
			}
		}
		if boundName.MatchString(name) {
			fail(declLine, "DECLAREs @%s, which collides with the @pN names the parameters are bound to", written)
		}
	}
	procArgs := procedureArgNames(root)
	isParam := func(u varUse) bool {
		if _, local := declared[strings.ToLower(u.name)]; local {
			return false
		}
		return !procArgs[utf8.RuneCountInString(t.Text[:u.start])]
	}

	var b strings.Builder
	fmt.Fprintf(&b, "-- name: %s %s\n", q.Name, q.Cmd)
	used := map[string]bool{}
	reported := map[string]bool{}
	last := 0
	for _, u := range uses {
		if !isParam(u) {
			continue
		}
		p, ok := params[u.name]
		if !ok {
			if !reported[u.name] {
				reported[u.name] = true
				fail(t.BodyLine+lineAt(t.Text, u.start)-1, "names @%s, which the SQLite query does not have%s", u.name, nearName(u.name, q.Params))
			}
			continue
		}
		used[u.name] = true
		b.WriteString(t.Text[last:u.start])
		fmt.Fprintf(&b, "@p%d", p.Number)
		last = u.end
	}
	b.WriteString(t.Text[last:])
	for _, p := range q.Params {
		if !used[p.Name] {
			fail(t.Line, "leaves out @%s (parameter %d of the SQLite query)", p.Name, p.Number)
		}
	}
	if q.Cmd == ":one" || q.Cmd == ":many" {
		errs = append(errs, checkColumns(q, t, root)...)
	}
	if len(errs) > 0 {
		return "", errs
	}
	return b.String(), nil
}

// nearName suggests the parameter a misspelt @name probably meant: names bind
// exactly, so @Now does not bind now.
func nearName(name string, params []Param) string {
	for _, p := range params {
		if strings.EqualFold(p.Name, name) {
			return fmt.Sprintf(" (names are matched exactly: did you mean @%s?)", p.Name)
		}
	}
	names := make([]string, len(params))
	for i, p := range params {
		names[i] = "@" + p.Name
	}
	if len(names) == 0 {
		return " (it has none)"
	}
	return " (it has " + strings.Join(names, ", ") + ")"
}

func sortedNames[V any](m map[string]V) []string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}
