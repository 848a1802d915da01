package twins

import (
	"bytes"
	"context"
	"go/format"
	"math/rand/v2"
	"os"
	"regexp"
	"slices"
	"testing"
)

// TestStaticPathReproducesThePlugin binds the fixture project the way the
// static tests bind the repository (query parameters read back from sqlc's
// constants, no sqlc run) and checks that Render gives, byte for byte, the
// mssql.sql.go that sqlc and the plugin wrote into internal/exampledb. That
// is what lets the static test tell a stale gen/db/mssql.sql.go from a
// current one.
func TestStaticPathReproducesThePlugin(t *testing.T) {
	want, err := os.ReadFile("internal/exampledb/mssql.sql.go")
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir("testdata/good")
	queries, err := ReadSQLiteQueries("sql/queries/sqlite", "../../internal/exampledb")
	if err != nil {
		t.Fatal(err)
	}
	twins, err := ReadDir("sql/queries/mssql")
	if err != nil {
		t.Fatal(err)
	}
	bound, err := Bind(context.Background(), queries, twins)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Render(bound, RenderOptions{Source: "sql/queries/mssql"})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("Render differs from internal/exampledb/mssql.sql.go:\n%s", got)
	}
}

func TestRenderIsDeterministicAndFormatted(t *testing.T) {
	twins, err := ReadDir("testdata/good/sql/queries/mssql")
	if err != nil {
		t.Fatal(err)
	}
	bound, err := Bind(context.Background(), fixtureQueries(t), twins)
	if err != nil {
		t.Fatal(err)
	}
	first, err := Render(bound, RenderOptions{Package: "store", Source: "sql/queries/mssql"})
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		shuffled := slices.Clone(bound)
		rand.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		again, err := Render(shuffled, RenderOptions{Package: "store", Source: "sql/queries/mssql"})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(first, again) {
			t.Fatal("Render depends on the order of its input")
		}
	}
	formatted, err := format.Source(first)
	if err != nil || !bytes.Equal(formatted, first) {
		t.Errorf("output is not gofmt'd (%v)", err)
	}
	if !regexp.MustCompile(`^// Code generated .* DO NOT EDIT\.\n`).Match(first) {
		t.Errorf("output does not start with a generated-code line:\n%s", first[:80])
	}
	if !bytes.Contains(first, []byte("\npackage store\n")) {
		t.Error("output ignores RenderOptions.Package")
	}
	// Queries appear in name order.
	var order []string
	for _, m := range regexp.MustCompile(`(?m)^\t\tname: +"(\w+)",$`).FindAllSubmatch(first, -1) {
		order = append(order, string(m[1]))
	}
	if !slices.IsSorted(order) || len(order) != len(bound) {
		t.Errorf("queries rendered in order %v", order)
	}
}

func TestRenderQuotesTextARawStringCannotHold(t *testing.T) {
	b := Bound{
		Query: Query{Name: "Odd", Cmd: ":exec", Const: "odd"},
		Twin:  Twin{File: "x.sql", Line: 1},
		SQL:   "-- name: Odd :exec\nSELECT N'a`b' AS x;",
	}
	out, err := Render([]Bound{b}, RenderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`text: +"-- name: Odd :exec\\nSELECT N'a` + "`" + `b' AS x;",`).Match(out) {
		t.Errorf("backquote not quoted:\n%s", out)
	}
}

// Each twin carries its parameter names in argument order (by Number, not
// by the order the query lists them), which is what MSSQLArgs is given.
func TestRenderListsParametersInArgumentOrder(t *testing.T) {
	b := Bound{
		Query: Query{Name: "Claim", Cmd: ":exec", Const: "claim",
			Params: []Param{{Number: 2, Name: "now"}, {Number: 1, Name: "worker_id"}, {Number: 3, Name: "lease_seconds"}}},
		Twin: Twin{File: "x.sql", Line: 1},
		SQL:  "-- name: Claim :exec\nSELECT @p1, @p2, @p3;",
	}
	out, err := Render([]Bound{b}, RenderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`params: +\[\]string\{"worker_id", "now", "lease_seconds"\},`).Match(out) {
		t.Errorf("parameters not listed in argument order:\n%s", out)
	}
	none := Bound{Query: Query{Name: "Bare", Cmd: ":exec", Const: "bare"}, Twin: Twin{File: "x.sql", Line: 1}, SQL: "-- name: Bare :exec\nSELECT 1;"}
	if out, err = Render([]Bound{none}, RenderOptions{}); err != nil || !regexp.MustCompile(`params: +nil,`).Match(out) {
		t.Errorf("a query without parameters: %v\n%s", err, out)
	}
}

func TestRenderRefusesNamesItDeclares(t *testing.T) {
	bound := []Bound{
		{Query: Query{Name: "WithDialectTx", Cmd: ":exec", Const: "withDialectTx", File: "q.sql"}},
		{Query: Query{Name: "NewMSSQL", Cmd: ":exec", Const: "newMSSQL", File: "q.sql"}},
	}
	_, err := Render(bound, RenderOptions{})
	assertErrors(t, err, []string{
		"q.sql: WithDialectTx: generates WithDialectTx, a name the T-SQL binding declares: rename the query",
		"q.sql: NewMSSQL: generates NewMSSQL, a name the T-SQL binding declares: rename the query",
	})
}
