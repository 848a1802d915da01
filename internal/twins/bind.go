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
	b := &binding{q: q, t: t}
	b.checkCmd()
	params := b.params()
	uses, err := scanVars(t.Text)
	if err != nil {
		b.fail(t.BodyLine, "cannot read the T-SQL: %v", err)
		return "", b.errs
	}
	root, err := parseTSQL(ctx, t.Text)
	if err != nil {
		b.fail(t.BodyLine, "does not parse as T-SQL: %v", err)
		return "", b.errs
	}
	declared := declaredVariables(root)
	b.checkDeclared(declared)
	procArgs := procedureArgNames(root)
	isParam := func(u varUse) bool {
		if _, local := declared[strings.ToLower(u.name)]; local {
			return false
		}
		return !procArgs[utf8.RuneCountInString(t.Text[:u.start])]
	}
	sql := b.rewrite(uses, isParam, params)
	if q.Cmd == ":one" || q.Cmd == ":many" {
		b.errs = append(b.errs, checkColumns(q, t, root)...)
	}
	if len(b.errs) > 0 {
		return "", b.errs
	}
	return sql, nil
}

// binding is a twin being bound to its query, and the problems found so
// far, in the order they are found.
type binding struct {
	q    Query
	t    Twin
	errs ErrorList
}

// fail records a problem of the twin at line of its file.
func (b *binding) fail(line int, format string, args ...any) {
	b.errs = append(b.errs, &Error{File: b.t.File, Line: line, Query: b.t.Name, Msg: fmt.Sprintf(format, args...)})
}

// checkCmd checks that the twin's command is the query's, and one a twin
// may carry.
func (b *binding) checkCmd() {
	if b.t.Cmd != b.q.Cmd {
		b.fail(b.t.Line, "twin is %s but the SQLite query in %s is %s", b.t.Cmd, b.q.File, b.q.Cmd)
	} else if !cmds[b.q.Cmd] {
		b.fail(b.t.Line, "%s is not supported for SQL Server twins (go-mssqldb has no LastInsertId: return the key with OUTPUT as :one)", b.q.Cmd)
	}
}

// params are the query's parameters by name. A parameter no twin can bind
// by name is a problem of the SQLite query.
func (b *binding) params() map[string]Param {
	q := b.q
	params := map[string]Param{}
	for _, p := range q.Params {
		switch {
		case p.Slice:
			b.errs = append(b.errs, &Error{File: q.File, Query: q.Name, Msg: fmt.Sprintf("sqlc.slice(%s) cannot be mirrored in T-SQL: sqlc expands it at run time", p.Name)})
		case p.Anonymous:
			b.errs = append(b.errs, &Error{File: q.File, Query: q.Name, Msg: fmt.Sprintf("parameter %d is an anonymous ?: write it as @name or sqlc.arg(name) so its twin binds by name", p.Number)})
		}
		params[p.Name] = p
	}
	return params
}

// checkDeclared refuses a DECLAREd variable that a parameter's name, or
// the name a parameter is bound to, would shadow.
func (b *binding) checkDeclared(declared map[string]node) {
	for _, name := range sortedNames(declared) {
		decl := declared[name]
		declLine := b.t.BodyLine + line(decl) - 1
		written := strings.TrimPrefix(str(decl, "Value"), "@")
		for _, p := range b.q.Params {
			if strings.EqualFold(p.Name, name) {
				b.fail(declLine, "DECLAREs @%s, which is a parameter of the query", written)
			}
		}
		if boundName.MatchString(name) {
			b.fail(declLine, "DECLAREs @%s, which collides with the @pN names the parameters are bound to", written)
		}
	}
}

// rewrite is the T-SQL to send: a "-- name:" header, then the twin's text
// with each parameter @name replaced by @pN. Every parameter must be used,
// and no name may be one the query does not have.
func (b *binding) rewrite(uses []varUse, isParam func(varUse) bool, params map[string]Param) string {
	t := b.t
	var out strings.Builder
	fmt.Fprintf(&out, "-- name: %s %s\n", b.q.Name, b.q.Cmd)
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
				b.fail(t.BodyLine+lineAt(t.Text, u.start)-1, "names @%s, which the SQLite query does not have%s", u.name, nearName(u.name, b.q.Params))
			}
			continue
		}
		used[u.name] = true
		out.WriteString(t.Text[last:u.start])
		fmt.Fprintf(&out, "@p%d", p.Number)
		last = u.end
	}
	out.WriteString(t.Text[last:])
	for _, p := range b.q.Params {
		if !used[p.Name] {
			b.fail(t.Line, "leaves out @%s (parameter %d of the SQLite query)", p.Name, p.Number)
		}
	}
	return out.String()
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
