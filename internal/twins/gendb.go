package twins

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// generatedQuery is one query constant sqlc wrote into gen/db.
type generatedQuery struct {
	constName string
	cmd       string
	file      string
	// text is the constant's value without its "-- name:" line.
	text string
}

// constHeader is the first line sqlc gives every query constant.
var constHeader = regexp.MustCompile(`^-- name: ([A-Za-z_][A-Za-z0-9_]*) (:[a-z]+)\n`)

// readGeneratedQueries reads the query constants of the Go files in genDir.
func readGeneratedQueries(genDir string) (map[string]generatedQuery, error) {
	entries, err := os.ReadDir(genDir)
	if err != nil {
		return nil, fmt.Errorf("list generated code: %w", err)
	}
	fset := token.NewFileSet()
	queries := map[string]generatedQuery{}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		path := filepath.Join(genDir, e.Name())
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return nil, fmt.Errorf("parse generated code: %w", err)
		}
		for _, decl := range f.Decls {
			gen, ok := decl.(*ast.GenDecl)
			if !ok || gen.Tok != token.CONST {
				continue
			}
			for _, spec := range gen.Specs {
				vs := spec.(*ast.ValueSpec)
				if len(vs.Names) != 1 || len(vs.Values) != 1 {
					continue
				}
				value, ok := stringConst(vs.Values[0])
				if !ok {
					continue
				}
				m := constHeader.FindStringSubmatch(value)
				if m == nil {
					continue
				}
				queries[m[1]] = generatedQuery{constName: vs.Names[0].Name, cmd: m[2], file: path, text: value[len(m[0]):]}
			}
		}
	}
	return queries, nil
}

// stringConst evaluates a string literal, or a sum of them: sqlc splits a
// raw string around each backquote of the SQL.
func stringConst(e ast.Expr) (string, bool) {
	switch e := e.(type) {
	case *ast.BasicLit:
		if e.Kind != token.STRING {
			return "", false
		}
		s, err := strconv.Unquote(e.Value)
		return s, err == nil
	case *ast.BinaryExpr:
		if e.Op != token.ADD {
			return "", false
		}
		x, ok := stringConst(e.X)
		if !ok {
			return "", false
		}
		y, ok := stringConst(e.Y)
		return x + y, ok
	case *ast.ParenExpr:
		return stringConst(e.X)
	}
	return "", false
}

// ReadSQLiteQueries rebuilds, without running sqlc, the Query of every
// SQLite query in queryDir: the name and command from the query files, the
// parameter numbers from the constants sqlc wrote into genDir. sqlc rewrites
// each parameter token of a query in place (@name and sqlc.arg(name) become
// ?N), so the parameter tokens of a query file and of its constant line up
// one for one. Columns are left nil: only sqlc knows them.
//
// A query missing from genDir, or whose parameters no longer line up with
// its constant, means gen/db is stale, and is reported as such.
func ReadSQLiteQueries(queryDir, genDir string) ([]Query, error) {
	files, err := sqlFiles(queryDir)
	if err != nil {
		return nil, err
	}
	generated, err := readGeneratedQueries(genDir)
	if err != nil {
		return nil, err
	}
	var (
		queries []Query
		errs    ErrorList
	)
	seen := map[string]bool{}
	for _, file := range files {
		src, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("read query file: %w", err)
		}
		blocks, blockErrs := splitBlocks(file, src)
		errs = append(errs, blockErrs...)
		for _, b := range blocks {
			seen[b.name] = true
			g, ok := generated[b.name]
			if !ok {
				errs = append(errs, &Error{File: file, Line: b.line, Query: b.name, Msg: fmt.Sprintf("has no constant in %s: run sqlc generate", genDir)})
				continue
			}
			if g.cmd != b.cmd {
				errs = append(errs, &Error{File: file, Line: b.line, Query: b.name, Msg: fmt.Sprintf("is %s but %s says %s: run sqlc generate", b.cmd, g.file, g.cmd)})
				continue
			}
			params, err := lineUpParams(b.text, g.text)
			if err != nil {
				errs = append(errs, &Error{File: file, Line: b.line, Query: b.name, Msg: fmt.Sprintf("%v (is %s stale? run sqlc generate)", err, g.file)})
				continue
			}
			queries = append(queries, Query{Name: b.name, Cmd: b.cmd, File: file, Const: g.constName, Params: params})
		}
	}
	for _, name := range sortedNames(generated) {
		if !seen[name] {
			errs = append(errs, &Error{File: generated[name].file, Query: name, Msg: fmt.Sprintf("has no query in %s: run sqlc generate", queryDir)})
		}
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	return queries, nil
}

// lineUpParams numbers the named parameters of a query file's text with the
// ?N tokens at the same places in sqlc's rewritten text.
func lineUpParams(source, generated string) ([]Param, error) {
	named, err := scanSQLiteParams(source)
	if err != nil {
		return nil, fmt.Errorf("read query: %w", err)
	}
	numbered, err := scanSQLiteParams(generated)
	if err != nil {
		return nil, fmt.Errorf("read generated query: %w", err)
	}
	if len(named) != len(numbered) {
		return nil, fmt.Errorf("has %d parameter tokens but its generated text has %d", len(named), len(numbered))
	}
	var params []Param
	numberOf := map[string]int{}
	nameOf := map[int]string{}
	for i, p := range named {
		n := numbered[i].number
		if numbered[i].name != "" {
			return nil, fmt.Errorf("generated text still has @%s", numbered[i].name)
		}
		if p.name == "" {
			// A bare ? or a ?N of the source: sqlc made up its name.
			number := n
			if number == 0 {
				number = i + 1
			}
			params = append(params, Param{Number: number, Name: fmt.Sprintf("?%d", number), Anonymous: true})
			continue
		}
		if n == 0 {
			return nil, fmt.Errorf("parameter %s has no number in the generated text", p.name)
		}
		if prev, ok := numberOf[p.name]; ok {
			if prev != n {
				return nil, fmt.Errorf("parameter %s is both ?%d and ?%d in the generated text", p.name, prev, n)
			}
			continue
		}
		if other, ok := nameOf[n]; ok {
			return nil, fmt.Errorf("parameters %s and %s are both ?%d in the generated text", other, p.name, n)
		}
		numberOf[p.name] = n
		nameOf[n] = p.name
		params = append(params, Param{Number: n, Name: p.name, Slice: p.slice})
	}
	slices.SortFunc(params, func(a, b Param) int { return a.Number - b.Number })
	return params, nil
}
