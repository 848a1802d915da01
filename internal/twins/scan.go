package twins

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The scanners here find parameter tokens by position, which the teesql AST
// cannot give for the rewrite: binding must replace exactly the characters of
// each @name and leave every other byte of the reviewed text alone. Both skip
// string literals, quoted identifiers and comments, so an '@' inside them is
// never taken for a parameter.

// varUse is one @name token of a T-SQL text.
type varUse struct {
	// name is the variable name without its '@'.
	name string
	// start and end are the byte offsets of "@name" in the text.
	start, end int
}

// scanVars returns the @name tokens of T-SQL text in order. @@name tokens
// are system functions (@@ROWCOUNT) and are skipped; locally declared
// variables are among the results and are told apart with the AST.
func scanVars(src string) ([]varUse, error) {
	var uses []varUse
	err := lexTSQL(src, func(kind tokenKind, start, end int) {
		if kind == tokVariable {
			uses = append(uses, varUse{name: src[start+1 : end], start: start, end: end})
		}
	})
	return uses, err
}

// stripComments returns text without its comments, for telling a block of
// only comments from one with SQL in it.
func stripComments(text string) string {
	var b strings.Builder
	last := 0
	err := lexTSQL(text, func(kind tokenKind, start, end int) {
		if kind == tokComment {
			b.WriteString(text[last:start])
			b.WriteByte(' ')
			last = end
		}
	})
	if err != nil {
		// Unterminated text is not only comments; the parser reports it.
		return text
	}
	b.WriteString(text[last:])
	return b.String()
}

type tokenKind int

const (
	tokComment tokenKind = iota
	tokString
	tokQuotedIdent
	tokVariable
	tokSystemVariable
)

// lexTSQL walks T-SQL text and reports comments, string literals, quoted
// identifiers and variables with their byte offsets. Everything else is left
// unreported. Block comments nest in T-SQL, and quotes double to escape.
func lexTSQL(src string, emit func(kind tokenKind, start, end int)) error {
	i := 0
	for i < len(src) {
		c := src[i]
		switch {
		case c == '-' && strings.HasPrefix(src[i:], "--"):
			end := strings.IndexByte(src[i:], '\n')
			if end < 0 {
				end = len(src)
			} else {
				end += i
			}
			emit(tokComment, i, end)
			i = end
		case c == '/' && strings.HasPrefix(src[i:], "/*"):
			depth, j := 1, i+2
			for j < len(src) && depth > 0 {
				switch {
				case strings.HasPrefix(src[j:], "/*"):
					depth++
					j += 2
				case strings.HasPrefix(src[j:], "*/"):
					depth--
					j += 2
				default:
					j++
				}
			}
			if depth > 0 {
				return fmt.Errorf("line %d: unterminated /* comment", lineAt(src, i))
			}
			emit(tokComment, i, j)
			i = j
		case c == '\'' || c == '"' || c == '[':
			closer := c
			kind := tokQuotedIdent
			what := "quoted identifier"
			switch c {
			case '\'':
				kind, what = tokString, "string literal"
			case '[':
				closer = ']'
			}
			end, ok := closeQuote(src, i+1, closer)
			if !ok {
				return fmt.Errorf("line %d: unterminated %s", lineAt(src, i), what)
			}
			emit(kind, i, end)
			i = end
		case c == '@':
			if strings.HasPrefix(src[i:], "@@") {
				end := identEnd(src, i+2)
				emit(tokSystemVariable, i, end)
				i = max(end, i+2)
				continue
			}
			end := identEnd(src, i+1)
			if end > i+1 {
				emit(tokVariable, i, end)
				i = end
				continue
			}
			i++
		case isIdentByte(src, i):
			// A word is skipped whole: nothing inside one starts a token.
			i = identEnd(src, i)
		default:
			i++
		}
	}
	return nil
}

// closeQuote returns the offset just past the quote that closes a quoted
// token whose content starts at from. A doubled closer is an escaped one.
func closeQuote(src string, from int, closer byte) (int, bool) {
	for j := from; j < len(src); j++ {
		if src[j] != closer {
			continue
		}
		if j+1 < len(src) && src[j+1] == closer {
			j++
			continue
		}
		return j + 1, true
	}
	return 0, false
}

// identEnd returns the offset past the identifier characters starting at i.
func identEnd(src string, i int) int {
	for i < len(src) && isIdentByte(src, i) {
		_, size := utf8.DecodeRuneInString(src[i:])
		i += size
	}
	return i
}

// isIdentByte reports whether the rune at src[i] may appear in an unquoted
// T-SQL or SQLite identifier after its first character.
func isIdentByte(src string, i int) bool {
	r, _ := utf8.DecodeRuneInString(src[i:])
	return r == '_' || r == '#' || r == '$' || unicode.IsLetter(r) || unicode.IsDigit(r)
}

// lineAt returns the 1-based line of byte offset off in src.
func lineAt(src string, off int) int {
	return strings.Count(src[:off], "\n") + 1
}

// sqliteParam is one parameter token of a SQLite query as sqlc reads it.
type sqliteParam struct {
	// name is the parameter name, or "" for an anonymous ? or a ?N.
	name string
	// number is N for a ?N token, 0 otherwise.
	number int
	// slice is set for sqlc.slice(name), which sqlc expands at run time and
	// a twin cannot mirror.
	slice bool
	// start is the byte offset of the token, for messages.
	start int
}

// scanSQLiteParams returns the parameter tokens of SQLite query text in
// order: @name, sqlc.arg(name), sqlc.narg(name), sqlc.slice(name), ? and ?N.
// It reads both the query files (named forms) and sqlc's rewritten text in
// gen/db (numbered forms), so the two can be lined up token by token.
func scanSQLiteParams(src string) ([]sqliteParam, error) {
	var params []sqliteParam
	i := 0
	for i < len(src) {
		c := src[i]
		switch {
		case c == '-' && strings.HasPrefix(src[i:], "--"):
			end := strings.IndexByte(src[i:], '\n')
			if end < 0 {
				return params, nil
			}
			i += end
		case c == '/' && strings.HasPrefix(src[i:], "/*"):
			end := strings.Index(src[i+2:], "*/")
			if end < 0 {
				return params, nil // SQLite ends an open comment at the end of input.
			}
			i += 2 + end + 2
		case c == '\'' || c == '"' || c == '`' || c == '[':
			closer := c
			if c == '[' {
				closer = ']'
			}
			end, ok := closeQuote(src, i+1, closer)
			if !ok {
				return nil, fmt.Errorf("line %d: unterminated quote %c", lineAt(src, i), c)
			}
			i = end
		case c == '?':
			j := i + 1
			for j < len(src) && src[j] >= '0' && src[j] <= '9' {
				j++
			}
			p := sqliteParam{start: i}
			if j > i+1 {
				n, err := strconv.Atoi(src[i+1 : j])
				if err != nil {
					return nil, fmt.Errorf("line %d: parameter number %q: %w", lineAt(src, i), src[i+1:j], err)
				}
				p.number = n
			}
			params = append(params, p)
			i = j
		case c == '@':
			end := identEnd(src, i+1)
			if end > i+1 {
				params = append(params, sqliteParam{name: src[i+1 : end], start: i})
				i = end
				continue
			}
			i++
		case isIdentByte(src, i):
			end := identEnd(src, i)
			if strings.EqualFold(src[i:end], "sqlc") {
				if p, next, ok := sqlcMacro(src, i, end); ok {
					params = append(params, p)
					i = next
					continue
				}
			}
			i = end
		default:
			i++
		}
	}
	return params, nil
}

// sqlcMacro reads sqlc.arg(name), sqlc.narg(name) or sqlc.slice(name) whose
// "sqlc" spans src[start:end]. The name may be bare or quoted.
func sqlcMacro(src string, start, end int) (sqliteParam, int, bool) {
	j := skipSpace(src, end)
	if j >= len(src) || src[j] != '.' {
		return sqliteParam{}, 0, false
	}
	j = skipSpace(src, j+1)
	fnEnd := identEnd(src, j)
	fn := strings.ToLower(src[j:fnEnd])
	if fn != "arg" && fn != "narg" && fn != "slice" {
		return sqliteParam{}, 0, false
	}
	j = skipSpace(src, fnEnd)
	if j >= len(src) || src[j] != '(' {
		return sqliteParam{}, 0, false
	}
	j = skipSpace(src, j+1)
	var name string
	if j < len(src) && (src[j] == '\'' || src[j] == '"') {
		close, ok := closeQuote(src, j+1, src[j])
		if !ok {
			return sqliteParam{}, 0, false
		}
		name = src[j+1 : close-1]
		j = close
	} else {
		nameEnd := identEnd(src, j)
		name = src[j:nameEnd]
		j = nameEnd
	}
	j = skipSpace(src, j)
	if name == "" || j >= len(src) || src[j] != ')' {
		return sqliteParam{}, 0, false
	}
	return sqliteParam{name: name, slice: fn == "slice", start: start}, j + 1, true
}

func skipSpace(src string, i int) int {
	for i < len(src) && (src[i] == ' ' || src[i] == '\t' || src[i] == '\n' || src[i] == '\r') {
		i++
	}
	return i
}
