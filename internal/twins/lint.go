package twins

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// claimHints are the table hints every claim takes on the row it picks:
// UPDLOCK so two workers cannot pick the same row, READPAST so they skip rows
// another claim holds instead of queueing behind it, ROWLOCK so the lock
// stays on that row, and READCOMMITTEDLOCK so READPAST stays legal where
// read committed snapshot is on (as on Azure SQL).
var claimHints = []string{"UpdLock", "ReadPast", "Rowlock", "ReadCommittedLock"}

// CheckClaim checks the shape the design asks of a claim: it picks a row with
// all four claimHints on one table, in a stated order (ORDER BY), and records
// what it claimed with OUTPUT ... INTO a table variable in the statement that
// claims it. A bare OUTPUT (without INTO) is refused: SQL Server rejects it
// (error 334) once the table has a trigger.
func CheckClaim(ctx context.Context, t Twin) error {
	root, err := parseTSQL(ctx, t.Text)
	if err != nil {
		return &Error{File: t.File, Line: t.BodyLine, Query: t.Name, Msg: fmt.Sprintf("does not parse as T-SQL: %v", err)}
	}
	var (
		hinted, ordered, outputInto, bareOutput bool
		missing                                 []string
	)
	visit(root, func(n, _ node, _ string) bool {
		switch {
		case typeOf(n) == "OrderByClause":
			ordered = true
		case typeOf(n) == "OutputIntoClause":
			outputInto = outputInto || typeOf(child(n, "IntoTable")) == "VariableTableReference"
		case typeOf(n) == "OutputClause":
			bareOutput = true
		}
		hints := children(n, "TableHints")
		if len(hints) == 0 {
			return true
		}
		var have []string
		for _, h := range hints {
			have = append(have, strings.ToLower(str(h, "HintKind")))
		}
		var lacks []string
		for _, want := range claimHints {
			if !slices.Contains(have, strings.ToLower(want)) {
				lacks = append(lacks, strings.ToUpper(want))
			}
		}
		if len(lacks) == 0 {
			hinted = true
		} else if missing == nil || len(lacks) < len(missing) {
			missing = lacks
		}
		return true
	})
	var problems []string
	if !hinted {
		if missing == nil {
			problems = append(problems, "takes no table hints (want WITH (UPDLOCK, READPAST, ROWLOCK, READCOMMITTEDLOCK) on the claimed table)")
		} else {
			problems = append(problems, "lacks table hint "+strings.Join(missing, ", ")+" (want all of UPDLOCK, READPAST, ROWLOCK, READCOMMITTEDLOCK on the claimed table)")
		}
	}
	if !ordered {
		problems = append(problems, "has no ORDER BY (a claim takes the oldest row, not any row)")
	}
	if bareOutput {
		problems = append(problems, "uses OUTPUT without INTO (refused, error 334, on a table with a trigger): write OUTPUT ... INTO a table variable and SELECT from it")
	} else if !outputInto {
		problems = append(problems, "has no OUTPUT ... INTO a table variable (a claim records what it claimed in the statement that claims it)")
	}
	if len(problems) == 0 {
		return nil
	}
	return &Error{File: t.File, Line: t.Line, Query: t.Name, Msg: "claim " + strings.Join(problems, "; ")}
}

// IsTimeParam reports whether a parameter carries a time by its name: now,
// or a name ending in _at, _before, _after or cutoff.
func IsTimeParam(name string) bool {
	n := strings.ToLower(name)
	return n == "now" || strings.HasSuffix(n, "_at") || strings.HasSuffix(n, "_before") ||
		strings.HasSuffix(n, "_after") || strings.HasSuffix(n, "cutoff")
}

// CheckTimeCasts checks that every use of a time parameter in a twin is
// written CAST(@x AS DATETIME2). go-mssqldb sends a time.Time as
// datetimeoffset, which outranks DATETIME2 in SQL Server's type precedence:
// compared as it is, it converts the DATETIME2 column at every row, and no
// index seeks on it. Local variables (DECLAREd) are not parameters and are
// left alone.
func CheckTimeCasts(ctx context.Context, t Twin) error {
	root, err := parseTSQL(ctx, t.Text)
	if err != nil {
		return &Error{File: t.File, Line: t.BodyLine, Query: t.Name, Msg: fmt.Sprintf("does not parse as T-SQL: %v", err)}
	}
	uses, err := scanVars(t.Text)
	if err != nil {
		return &Error{File: t.File, Line: t.BodyLine, Query: t.Name, Msg: fmt.Sprintf("cannot read the T-SQL: %v", err)}
	}
	declared := declaredVariables(root)
	procArgs := procedureArgNames(root)

	// Offsets (in characters, as the AST counts them) of the variable
	// references that are the operand of CAST(... AS DATETIME2).
	cast := map[int]bool{}
	visit(root, func(n, _ node, _ string) bool {
		if typeOf(n) != "CastCall" || !strings.EqualFold(str(child(n, "DataType"), "SqlDataTypeOption"), "DateTime2") {
			return true
		}
		if p := child(n, "Parameter"); typeOf(p) == "VariableReference" {
			cast[offset(p)] = true
		}
		return true
	})

	var errs ErrorList
	for _, u := range uses {
		if !IsTimeParam(u.name) {
			continue
		}
		if _, local := declared[strings.ToLower(u.name)]; local {
			continue
		}
		off := utf8.RuneCountInString(t.Text[:u.start])
		if procArgs[off] || cast[off] {
			continue
		}
		errs = append(errs, &Error{File: t.File, Line: t.BodyLine + lineAt(t.Text, u.start) - 1, Query: t.Name,
			Msg: fmt.Sprintf("uses time parameter @%s without CAST(@%s AS DATETIME2)", u.name, u.name)})
	}
	return errs.err()
}
