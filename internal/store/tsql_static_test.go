package store_test

// Static checks of the T-SQL that SQL Server would refuse at run time but
// that a parser alone lets through. They complement the checks of
// internal/twins (every twin and migration parses and binds, the schemas
// agree, claims carry their hints, time parameters are cast).

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/sqlc-dev/teesql/parser"

	"github.com/ade-dev/ade-worker/gen/db"
	"github.com/ade-dev/ade-worker/internal/twins"
)

const (
	twinDir      = "../../sql/queries/mssql"
	migrationDir = "../../sql/schema/mssql"
)

// reservedTSQL are SQL Server's reserved keywords. Unbracketed as a name
// they are a syntax error on SQL Server, though teesql reads some of them
// (CURSOR, for one) as plain identifiers.
var reservedTSQL = strings.Fields(`
ADD ALL ALTER AND ANY AS ASC AUTHORIZATION BACKUP BEGIN BETWEEN BREAK BROWSE
BULK BY CASCADE CASE CHECK CHECKPOINT CLOSE CLUSTERED COALESCE COLLATE COLUMN
COMMIT COMPUTE CONSTRAINT CONTAINS CONTAINSTABLE CONTINUE CONVERT CREATE CROSS
CURRENT CURRENT_DATE CURRENT_TIME CURRENT_TIMESTAMP CURRENT_USER CURSOR
DATABASE DBCC DEALLOCATE DECLARE DEFAULT DELETE DENY DESC DISK DISTINCT
DISTRIBUTED DOUBLE DROP DUMP ELSE END ERRLVL ESCAPE EXCEPT EXEC EXECUTE EXISTS
EXIT EXTERNAL FETCH FILE FILLFACTOR FOR FOREIGN FREETEXT FREETEXTTABLE FROM
FULL FUNCTION GOTO GRANT GROUP HAVING HOLDLOCK IDENTITY IDENTITY_INSERT
IDENTITYCOL IF IN INDEX INNER INSERT INTERSECT INTO IS JOIN KEY KILL LEFT LIKE
LINENO LOAD MERGE NATIONAL NOCHECK NONCLUSTERED NOT NULL NULLIF OF OFF OFFSETS
ON OPEN OPENDATASOURCE OPENQUERY OPENROWSET OPENXML OPTION OR ORDER OUTER OVER
PERCENT PIVOT PLAN PRECISION PRIMARY PRINT PROC PROCEDURE PUBLIC RAISERROR
READ READTEXT RECONFIGURE REFERENCES REPLICATION RESTORE RESTRICT RETURN REVERT
REVOKE RIGHT ROLLBACK ROWCOUNT ROWGUIDCOL RULE SAVE SCHEMA SECURITYAUDIT SELECT
SEMANTICKEYPHRASETABLE SEMANTICSIMILARITYDETAILSTABLE SEMANTICSIMILARITYTABLE
SESSION_USER SET SETUSER SHUTDOWN SOME STATISTICS SYSTEM_USER TABLE
TABLESAMPLE TEXTSIZE THEN TO TOP TRAN TRANSACTION TRIGGER TRUNCATE TRY_CONVERT
TSEQUAL UNION UNIQUE UNPIVOT UPDATE UPDATETEXT USE USER VALUES VARYING VIEW
WAITFOR WHEN WHERE WHILE WITH WITHIN WRITETEXT`)

// tsqlUnit is one piece of T-SQL sent as a whole: a twin or a migration chunk.
type tsqlUnit struct {
	where string // the file and, for a twin, the query name
	file  string
	line  int // line of the file the text starts on
	text  string
}

func tsqlUnits(t *testing.T) (twinUnits, migrationUnits []tsqlUnit) {
	t.Helper()
	tws, err := twins.ReadDir(twinDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, tw := range tws {
		twinUnits = append(twinUnits, tsqlUnit{fmt.Sprintf("%s: %s", filepath.Base(tw.File), tw.Name), filepath.Base(tw.File), tw.BodyLine, tw.Text})
	}
	migrations, err := twins.ReadMigrations(migrationDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range migrations {
		for _, c := range append(slices.Clone(m.Up), m.Down...) {
			migrationUnits = append(migrationUnits, tsqlUnit{filepath.Base(m.File), filepath.Base(m.File), c.Line, c.Text})
		}
	}
	if len(twinUnits) == 0 || len(migrationUnits) == 0 {
		t.Fatalf("found %d twins and %d migration chunks", len(twinUnits), len(migrationUnits))
	}
	return twinUnits, migrationUnits
}

// ast parses text and returns its syntax tree in teesql's JSON form.
func ast(t *testing.T, u tsqlUnit) map[string]any {
	t.Helper()
	script, err := parser.Parse(context.Background(), strings.NewReader(u.text))
	if err != nil {
		t.Fatalf("%s: does not parse: %v", u.where, err)
	}
	raw, err := parser.MarshalScript(script)
	if err != nil {
		t.Fatal(err)
	}
	var root map[string]any
	if err := json.Unmarshal(raw, &root); err != nil {
		t.Fatal(err)
	}
	return root
}

// walk calls fn for every object of the tree, parents first.
func walk(v any, fn func(n map[string]any)) {
	switch v := v.(type) {
	case map[string]any:
		fn(v)
		for _, c := range v {
			walk(c, fn)
		}
	case []any:
		for _, c := range v {
			walk(c, fn)
		}
	}
}

func TestTSQLNamesAreNotReservedWords(t *testing.T) {
	twinUnits, migrationUnits := tsqlUnits(t)
	for _, u := range append(twinUnits, migrationUnits...) {
		walk(ast(t, u), func(n map[string]any) {
			if n["$type"] != "Identifier" || n["QuoteType"] != "NotQuoted" {
				return
			}
			name, _ := n["Value"].(string)
			if slices.Contains(reservedTSQL, strings.ToUpper(name)) {
				line, _ := n["StartLine"].(float64)
				t.Errorf("%s:%d (%s): %q is a reserved word in T-SQL; write [%s]", u.file, u.line+int(line)-1, u.where, name, name)
			}
		})
	}
}

// Every OUTPUT goes INTO a table variable, which the twin then SELECTs. A
// bare OUTPUT (rows straight to the client) is refused, error 334, on a
// table with an enabled trigger, and the ADE API or an operator may add
// one to runs or environments at any time.
func TestOutputAlwaysGoesIntoATableVariable(t *testing.T) {
	twinUnits, _ := tsqlUnits(t)
	into := 0
	for _, u := range twinUnits {
		walk(ast(t, u), func(n map[string]any) {
			switch n["$type"] {
			case "OutputClause":
				line, _ := n["StartLine"].(float64)
				t.Errorf("%s:%d (%s): OUTPUT without INTO; write OUTPUT ... INTO a table variable and SELECT from it", u.file, u.line+int(line)-1, u.where)
			case "OutputIntoClause":
				into++
				if table, _ := n["IntoTable"].(map[string]any); table["$type"] != "VariableTableReference" {
					t.Errorf("%s: OUTPUT INTO %v; want a table variable", u.where, table["$type"])
				}
			}
		})
	}
	if into == 0 {
		t.Fatal("no twin uses OUTPUT INTO; the claims should")
	}
}

// A claim picks its candidate with a locking read that skips held rows
// (READPAST, READCOMMITTEDLOCK) but takes no UPDLOCK: under UPDLOCK every
// queued row the seek walks past and the EXISTS then rejects (a run whose
// environment is not ready) stays locked until the claim's transaction
// ends. The UPDATE takes the lock, on the one row it claims.
func TestClaimsPickTheirCandidateWithoutUpdLock(t *testing.T) {
	twinUnits, _ := tsqlUnits(t)
	claims := 0
	for _, u := range twinUnits {
		if !strings.Contains(u.where, ": Claim") {
			continue
		}
		claims++
		picks := 0
		walk(ast(t, u), func(n map[string]any) {
			if n["$type"] != "QuerySpecification" || n["OrderByClause"] == nil {
				return
			}
			picks++
			walk(n["FromClause"], func(ref map[string]any) {
				hints := map[string]bool{}
				for _, h := range list(ref["TableHints"]) {
					hints[fmt.Sprint(h["HintKind"])] = true
				}
				if ref["$type"] != "NamedTableReference" || len(hints) == 0 {
					return
				}
				if hints["UpdLock"] || !hints["ReadPast"] || !hints["ReadCommittedLock"] {
					t.Errorf("%s: the candidate is read WITH %v; want READPAST and READCOMMITTEDLOCK without UPDLOCK", u.where, hints)
				}
			})
		})
		if picks != 1 {
			t.Errorf("%s: %d ordered reads; want one, the candidate's", u.where, picks)
		}
	}
	if claims < 2 {
		t.Fatalf("found %d claims; ClaimRun and ClaimEnvironment are two", claims)
	}
}

// A twin that turns NOCOUNT on turns it off again, after the last SET
// NOCOUNT ON: Babelfish keeps the setting on the connection after the
// batch, and every later :execrows on that connection would count 0 rows.
func TestNoCountIsTurnedOffAgain(t *testing.T) {
	twinUnits, _ := tsqlUnits(t)
	setters := 0
	for _, u := range twinUnits {
		var states []string
		walk(ast(t, u), func(n map[string]any) {
			if n["$type"] == "PredicateSetStatement" && n["Options"] == "NoCount" {
				on, _ := n["IsOn"].(bool)
				states = append(states, fmt.Sprint(on))
			}
		})
		if len(states) == 0 {
			continue
		}
		setters++
		if states[len(states)-1] != "false" {
			t.Errorf("%s: SET NOCOUNT ON is not followed by SET NOCOUNT OFF", u.where)
		}
	}
	if setters == 0 {
		t.Fatal("no twin sets NOCOUNT; the batched claims and sweeps do")
	}
}

// baseName is the last part of a SchemaObjectName node.
func baseName(v any) string {
	n, _ := v.(map[string]any)
	id, _ := n["BaseIdentifier"].(map[string]any)
	s, _ := id["Value"].(string)
	return s
}

// No statement comes near SQL Server's 2,100 parameters per request: the
// result inserts send their rows as one JSON parameter (OPENJSON), never as
// a multi-row VALUES list.
func TestTwinsStayFarBelowTheParameterLimit(t *testing.T) {
	param := regexp.MustCompile(`@p([0-9]+)\b`)
	for name, text := range db.MSSQLQueries() {
		seen := map[string]bool{}
		for _, m := range param.FindAllStringSubmatch(text, -1) {
			seen[m[1]] = true
		}
		if len(seen) > 100 {
			t.Errorf("%s sends %d parameters; SQL Server takes at most 2,100 per request, and rows belong in one JSON parameter", name, len(seen))
		}
	}
	for _, name := range []string{"InsertRunFields", "InsertRunTableColumns"} {
		if !strings.Contains(db.MSSQLQueries()[name], "OPENJSON(@p2)") {
			t.Errorf("%s does not read its rows from one JSON parameter with OPENJSON", name)
		}
	}
}

// Every key SQL Server builds an index on fits its size limit: 900 bytes
// for a clustered index (a primary key, unless it says NONCLUSTERED) and
// 1,700 for a nonclustered one (SQL Server 2016 and later). A longer key
// is created with a warning and then refuses the rows that fill it.
func TestIndexKeysFitSQLServerLimits(t *testing.T) {
	_, migrationUnits := tsqlUnits(t)
	columns := map[string]map[string]int{} // table -> column -> key bytes (-1: not indexable)
	type key struct {
		name, table string
		cols        []string
		clustered   bool
	}
	var keys []key
	for _, u := range migrationUnits {
		walk(ast(t, u), func(n map[string]any) {
			switch n["$type"] {
			case "CreateTableStatement":
				table := strings.ToLower(baseName(n["SchemaObjectName"]))
				columns[table] = map[string]int{}
				def, _ := n["Definition"].(map[string]any)
				for _, c := range list(def["ColumnDefinitions"]) {
					col := strings.ToLower(identValue(c["ColumnIdentifier"]))
					columns[table][col] = keyBytes(t, u, table, col, c["DataType"])
					for _, con := range list(c["Constraints"]) {
						if con["$type"] == "UniqueConstraintDefinition" {
							keys = append(keys, key{identValue(con["ConstraintIdentifier"]), table, []string{col}, clusteredKey(con)})
						}
					}
				}
				for _, con := range list(def["TableConstraints"]) {
					if con["$type"] == "UniqueConstraintDefinition" {
						keys = append(keys, key{identValue(con["ConstraintIdentifier"]), table, columnNames(con["Columns"]), clusteredKey(con)})
					}
				}
			case "CreateIndexStatement":
				clustered, _ := n["Clustered"].(bool)
				keys = append(keys, key{identValue(n["Name"]), strings.ToLower(baseName(n["OnName"])), columnNames(n["Columns"]), clustered})
			}
		})
	}
	if len(keys) < 10 {
		t.Fatalf("found only %d keys in the migrations", len(keys))
	}
	for _, k := range keys {
		total := 0
		for _, c := range k.cols {
			b, ok := columns[k.table][c]
			switch {
			case !ok:
				t.Errorf("%s: no column %s.%s", k.name, k.table, c)
			case b < 0:
				t.Errorf("%s: %s.%s is (MAX) and cannot be an index key", k.name, k.table, c)
			}
			total += b
		}
		limit := 1700
		if k.clustered {
			limit = 900
		}
		if total > limit {
			t.Errorf("%s on %s %v: key of up to %d bytes, over SQL Server's %d-byte limit", k.name, k.table, k.cols, total, limit)
		}
	}
}

// keyBytes is the most bytes a column of type dt takes in an index key.
func keyBytes(t *testing.T, u tsqlUnit, table, col string, dt any) int {
	t.Helper()
	d, _ := dt.(map[string]any)
	size := -1
	if ps := list(d["Parameters"]); len(ps) > 0 {
		switch ps[0]["$type"] {
		case "IntegerLiteral":
			fmt.Sscan(ps[0]["Value"].(string), &size)
		case "MaxLiteral":
			size = -1
		}
	}
	switch opt, _ := d["SqlDataTypeOption"].(string); opt {
	case "NVarChar", "NChar":
		if size < 0 {
			return -1
		}
		return 2 * size
	case "VarChar", "Char", "VarBinary", "Binary":
		return size
	case "BigInt", "Float", "DateTime", "DateTime2", "DateTimeOffset":
		return 8
	case "Int", "Real":
		return 4
	case "SmallInt":
		return 2
	case "TinyInt", "Bit":
		return 1
	case "UniqueIdentifier":
		return 16
	case "Date":
		return 3
	default:
		t.Fatalf("%s: %s.%s has type %q, whose key size this test does not know yet", u.where, table, col, opt)
		return 0
	}
}

func clusteredKey(con map[string]any) bool {
	if c, ok := con["Clustered"].(bool); ok {
		return c
	}
	primary, _ := con["IsPrimaryKey"].(bool)
	return primary
}

func list(v any) []map[string]any {
	var out []map[string]any
	for _, x := range asSlice(v) {
		if m, ok := x.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

func identValue(v any) string {
	n, _ := v.(map[string]any)
	s, _ := n["Value"].(string)
	return s
}

// columnNames are the column names of a list of ColumnWithSortOrder.
func columnNames(v any) []string {
	var names []string
	for _, c := range list(v) {
		ref, _ := c["Column"].(map[string]any)
		mp, _ := ref["MultiPartIdentifier"].(map[string]any)
		ids := list(mp["Identifiers"])
		if len(ids) > 0 {
			names = append(names, strings.ToLower(identValue(ids[len(ids)-1])))
		}
	}
	return names
}
