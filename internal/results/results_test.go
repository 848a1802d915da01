package results

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
)

func ptr[T any](v T) *T { return &v }

// nest builds {"a": {"b": ... value}} from the dotted path "a.b...".
func nest(path, value string) string {
	keys := strings.Split(path, ".")
	s := value
	for i := len(keys) - 1; i >= 0; i-- {
		s = fmt.Sprintf("{%q: %s}", keys[i], s)
	}
	return s
}

func mustParse(t testing.TB, data string) Summary {
	t.Helper()
	s, err := Parse([]byte(data))
	if err != nil {
		t.Fatalf("Parse(%.200s): %v", data, err)
	}
	return s
}

// metricPaths maps every run_metrics count column to where it is read from.
var metricPaths = map[string]string{
	"ValidationIssuesTotal":   "validation.issues_total",
	"ValidationIssuesInfo":    "validation.issues_by_severity.info",
	"ValidationIssuesWarning": "validation.issues_by_severity.warning",
	"ValidationIssuesError":   "validation.issues_by_severity.error",
	"WorkbookCount":           "counts.workbooks",
	"SheetCount":              "counts.sheets",
	"TableCount":              "counts.tables",
	"RowCountTotal":           "counts.rows.total",
	"RowCountEmpty":           "counts.rows.empty",
	"ColumnCountTotal":        "counts.columns.total",
	"ColumnCountEmpty":        "counts.columns.empty",
	"ColumnCountMapped":       "counts.columns.mapped",
	"ColumnCountUnmapped":     "counts.columns.unmapped",
	"FieldCountExpected":      "counts.fields.expected",
	"FieldCountDetected":      "counts.fields.detected",
	"FieldCountNotDetected":   "counts.fields.not_detected",
	"CellCountTotal":          "counts.cells.total",
	"CellCountNonEmpty":       "counts.cells.non_empty",
}

// countValues are JSON values for a count and what each must read as
// (nil: absent).
var countValues = []struct {
	json string
	want *int64
}{
	{`5`, ptr[int64](5)},
	{`0`, ptr[int64](0)},
	{`"7"`, ptr[int64](7)},
	{`"  12 "`, ptr[int64](12)},
	{`"+3"`, ptr[int64](3)},
	{`3.0`, ptr[int64](3)},
	{`"4.00"`, ptr[int64](4)},
	{`1e3`, ptr[int64](1000)},
	{`"2E2"`, ptr[int64](200)},
	{`9223372036854775807`, ptr[int64](math.MaxInt64)},
	{`9223372036854775808`, nil},
	{`1e19`, nil},
	{`1e400`, nil},
	{`-1`, nil},
	{`"-5"`, nil},
	{`-0.0`, ptr[int64](0)},
	{`1.5`, nil},
	{`"1.5"`, nil},
	{`true`, nil},
	{`false`, nil},
	{`"true"`, nil},
	{`null`, nil},
	{`""`, nil},
	{`"abc"`, nil},
	{`"NaN"`, nil},
	{`"Inf"`, nil},
	{`"0x10"`, nil},
	{`"1_000"`, nil},
	{`[1]`, nil},
	{`{"value": 1}`, nil},
}

func TestMetricCounts(t *testing.T) {
	for field, path := range metricPaths {
		for _, v := range countValues {
			t.Run(field+"="+v.json, func(t *testing.T) {
				s := mustParse(t, nest(path, v.json))
				if v.want == nil {
					if s.Metrics != nil {
						t.Errorf("Metrics = %+v, want nil (no usable value)", *s.Metrics)
					}
					return
				}
				if s.Metrics == nil {
					t.Fatalf("Metrics = nil, want %s = %d", field, *v.want)
				}
				got := reflect.ValueOf(*s.Metrics).FieldByName(field).Interface().(*int64)
				if got == nil || *got != *v.want {
					t.Errorf("%s = %v, want %d", field, got, *v.want)
				}
				// Every other metric stays absent.
				mv := reflect.ValueOf(*s.Metrics)
				for i := range mv.NumField() {
					if name := mv.Type().Field(i).Name; name != field && !mv.Field(i).IsNil() {
						t.Errorf("%s is set too", name)
					}
				}
			})
		}
	}
}

func TestEveryMetricIsMapped(t *testing.T) {
	typ := reflect.TypeFor[Metrics]()
	for i := range typ.NumField() {
		name := typ.Field(i).Name
		_, isCount := metricPaths[name]
		switch {
		case isCount:
		case strings.HasPrefix(name, "EvaluationFindings"), name == "EvaluationOutcome", name == "ValidationMaxSeverity":
		default:
			t.Errorf("Metrics.%s is not covered by these tests", name)
		}
	}
}

func TestMetricStrings(t *testing.T) {
	tests := []struct {
		data             string
		outcome, maxSev  *string
		wantMetricsIsNil bool
	}{
		{data: `{"evaluation": {"outcome": "passed"}}`, outcome: ptr("passed")},
		{data: `{"evaluation": {"outcome": "  failed \n"}}`, outcome: ptr("failed")},
		{data: `{"evaluation": {"outcome": "   "}}`, wantMetricsIsNil: true},
		{data: `{"evaluation": {"outcome": true}}`, wantMetricsIsNil: true},
		{data: `{"evaluation": {"outcome": {"x": 1}}}`, wantMetricsIsNil: true},
		{data: `{"evaluation": "passed"}`, wantMetricsIsNil: true},
		{data: `{"validation": {"max_severity": "Warning"}}`, maxSev: ptr("Warning")},
		{data: `{"validation": {"max_severity": ["error"]}}`, wantMetricsIsNil: true},
		{data: `{"validation": {"max_severity": 3}}`, wantMetricsIsNil: true},
	}
	for _, tt := range tests {
		s := mustParse(t, tt.data)
		if tt.wantMetricsIsNil {
			if s.Metrics != nil {
				t.Errorf("%s: Metrics = %+v, want nil", tt.data, *s.Metrics)
			}
			continue
		}
		if s.Metrics == nil {
			t.Fatalf("%s: Metrics = nil", tt.data)
		}
		if !reflect.DeepEqual(s.Metrics.EvaluationOutcome, tt.outcome) || !reflect.DeepEqual(s.Metrics.ValidationMaxSeverity, tt.maxSev) {
			t.Errorf("%s: outcome %v, max severity %v", tt.data, s.Metrics.EvaluationOutcome, s.Metrics.ValidationMaxSeverity)
		}
	}
}

func TestFindings(t *testing.T) {
	tests := []struct {
		findings                    string
		total, info, warning, error int64
	}{
		{`[]`, 0, 0, 0, 0},
		{`[{"severity": "info"}, {"severity": "INFO"}, {"severity": " Warning "}, {"severity": "warn"}, {"severity": "error"}]`, 5, 2, 2, 1},
		{`[{"severity": "critical"}, {}, 1, "error", null, [], {"severity": 3}, {"severity": true}]`, 8, 0, 0, 0},
		{`[{"severity": "error", "message": "x"}, {"severity": "error"}]`, 2, 0, 0, 2},
	}
	for _, tt := range tests {
		s := mustParse(t, `{"evaluation": {"findings": `+tt.findings+`}}`)
		m := s.Metrics
		if m == nil {
			t.Fatalf("%s: Metrics = nil; a findings list gives counts even when empty", tt.findings)
		}
		got := []*int64{m.EvaluationFindingsTotal, m.EvaluationFindingsInfo, m.EvaluationFindingsWarning, m.EvaluationFindingsError}
		want := []int64{tt.total, tt.info, tt.warning, tt.error}
		for i := range want {
			if got[i] == nil || *got[i] != want[i] {
				t.Errorf("%s: counts[%d] = %v, want %d", tt.findings, i, got[i], want[i])
			}
		}
	}
	for _, notList := range []string{`{"findings": "3"}`, `{"findings": 3}`, `{"findings": {"a": 1}}`, `{"findings": null}`, `{}`} {
		if s := mustParse(t, `{"evaluation": `+notList+`}`); s.Metrics != nil {
			t.Errorf("%s: Metrics = %+v, want nil", notList, *s.Metrics)
		}
	}
}

func TestFields(t *testing.T) {
	tests := []struct {
		name    string
		fields  string
		want    []Field
		skipped int
	}{
		{"full item", `[{"field": "invoice_no", "label": "Invoice No.", "detected": true, "best_mapping_score": 0.93, "occurrences": {"tables": 2, "columns": 3}}]`,
			[]Field{{Field: "invoice_no", Label: ptr("Invoice No."), Detected: true, BestMappingScore: ptr(0.93), OccurrencesTables: 2, OccurrencesColumns: 3}}, 0},
		{"minimal item", `[{"field": "a", "detected": false}]`, []Field{{Field: "a"}}, 0},
		{"lenient values", `[{"field": "  a ", "label": "  ", "detected": true, "best_mapping_score": " 0.5 ", "occurrences": {"tables": "4", "columns": 2.0}}]`,
			[]Field{{Field: "a", Detected: true, BestMappingScore: ptr(0.5), OccurrencesTables: 4, OccurrencesColumns: 2}}, 0},
		{"bad optional values", `[{"field": "a", "label": 7, "detected": true, "best_mapping_score": "high", "occurrences": {"tables": -1, "columns": true}}]`,
			[]Field{{Field: "a", Detected: true}}, 0},
		{"occurrences wrong type", `[{"field": "a", "detected": true, "occurrences": [1, 2]}]`, []Field{{Field: "a", Detected: true}}, 0},
		{"score not finite", `[{"field": "a", "detected": true, "best_mapping_score": "NaN"}, {"field": "b", "detected": true, "best_mapping_score": 1e999}]`,
			[]Field{{Field: "a", Detected: true}, {Field: "b", Detected: true}}, 0},
		{"no field", `[{"detected": true}, {"field": "", "detected": true}, {"field": null, "detected": true}, {"field": ["a"], "detected": true}]`, nil, 4},
		{"detected not boolean", `[{"field": "a"}, {"field": "b", "detected": "maybe"}, {"field": "c", "detected": [1]}, {"field": "d", "detected": null}, {"field": "e", "detected": ""}]`, nil, 5},
		{"detected read leniently", `[{"field": "a", "detected": "no"}, {"field": "b", "detected": " Yes "}, {"field": "c", "detected": 1}, {"field": "d", "detected": 0.0}, {"field": "e", "detected": "0"}]`,
			[]Field{{Field: "a"}, {Field: "b", Detected: true}, {Field: "c", Detected: true}, {Field: "d"}, {Field: "e"}}, 0},
		{"not objects", `[1, "a", null, [], true]`, nil, 5},
		{"duplicates keep the first", `[{"field": "a", "detected": true}, {"field": "a", "detected": false}, {"field": " a", "detected": false}]`, []Field{{Field: "a", Detected: true}}, 2},
		{"order kept", `[{"field": "b", "detected": true}, {"field": "a", "detected": false}]`, []Field{{Field: "b", Detected: true}, {Field: "a"}}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustParse(t, `{"fields": `+tt.fields+`}`)
			if !reflect.DeepEqual(s.Fields, tt.want) {
				t.Errorf("Fields\n got %s\nwant %s", dump(s.Fields), dump(tt.want))
			}
			if s.SkippedFields != tt.skipped {
				t.Errorf("SkippedFields = %d, want %d", s.SkippedFields, tt.skipped)
			}
		})
	}
	for _, notList := range []string{`"a"`, `{"field": "a", "detected": true}`, `3`, `null`} {
		if s := mustParse(t, `{"fields": `+notList+`}`); s.Fields != nil || s.SkippedFields != 0 {
			t.Errorf("fields = %s: got %s", notList, dump(s.Fields))
		}
	}
}

// workbook builds one workbook holding one sheet holding one table with the
// given columns.
func workbook(wbLocator, shLocator, tbLocator, columns string) string {
	return fmt.Sprintf(`{"locator": %s, "sheets": [{"locator": %s, "tables": [{"locator": %s, "structure": {"columns": %s}}]}]}`,
		wbLocator, shLocator, tbLocator, columns)
}

const (
	wbLoc = `{"workbook": {"index": 0, "name": "Book.xlsx"}}`
	shLoc = `{"sheet": {"index": 1, "name": "Data"}, "workbook": {"index": 99}}`
	tbLoc = `{"table": {"index": 2}}`
)

func col(index string, status string) string {
	return fmt.Sprintf(`{"index": %s, "mapping": {"status": %s}}`, index, status)
}

func TestColumns(t *testing.T) {
	base := Column{WorkbookIndex: 0, WorkbookName: ptr("Book.xlsx"), SheetIndex: 1, SheetName: ptr("Data"), TableIndex: 2}
	with := func(mod func(*Column)) Column {
		c := base
		mod(&c)
		return c
	}
	tests := []struct {
		name      string
		workbooks string
		want      []Column
		skipped   int
	}{
		{"full column", `[` + workbook(wbLoc, shLoc, tbLoc, `[{"index": 3, "header": {"raw": " Inv No ", "normalized": "inv_no"}, "non_empty_cells": 120,
			"mapping": {"status": "mapped", "field": "invoice_no", "score": 0.98, "method": "header", "unmapped_reason": null}}]`) + `]`,
			[]Column{with(func(c *Column) {
				c.ColumnIndex, c.HeaderRaw, c.HeaderNormalized, c.NonEmptyCells = 3, ptr("Inv No"), ptr("inv_no"), 120
				c.MappingStatus, c.MappedField, c.MappingScore, c.MappingMethod = "mapped", ptr("invoice_no"), ptr(0.98), ptr("header")
			})}, 0},
		{"unmapped column", `[` + workbook(wbLoc, shLoc, tbLoc, `[{"index": "4", "header": {"raw": 2024}, "mapping": {"status": " UNMAPPED ", "unmapped_reason": "no match", "score": "0.1"}}]`) + `]`,
			[]Column{with(func(c *Column) {
				c.ColumnIndex, c.MappingStatus, c.UnmappedReason, c.MappingScore = 4, "unmapped", ptr("no match"), ptr(0.1)
			})}, 0},
		{"defaults", `[` + workbook(wbLoc, shLoc, tbLoc, `[{"index": 0, "mapping": {"status": "Mapped"}, "non_empty_cells": -4}]`) + `]`,
			[]Column{with(func(c *Column) { c.MappingStatus = "mapped" })}, 0},
		{"names optional", `[` + workbook(`{"workbook": {"index": 5}}`, `{"sheet": {"index": 6, "name": ""}}`, tbLoc, `[`+col("1", `"mapped"`)+`]`) + `]`,
			[]Column{{WorkbookIndex: 5, SheetIndex: 6, TableIndex: 2, ColumnIndex: 1, MappingStatus: "mapped"}}, 0},
		{"column skip rules", `[` + workbook(wbLoc, shLoc, tbLoc, `[`+strings.Join([]string{
			`{"mapping": {"status": "mapped"}}`, col(`null`, `"mapped"`), col(`-1`, `"mapped"`), col(`1.5`, `"mapped"`), col(`true`, `"mapped"`), col(`"x"`, `"mapped"`),
			col(`1`, `"partial"`), col(`1`, `null`), col(`1`, `true`), `{"index": 1}`, `{"index": 1, "mapping": "mapped"}`, `7`, `null`, `"col"`,
			col(`8`, `"mapped"`),
		}, ", ")+`]`) + `]`,
			[]Column{with(func(c *Column) { c.ColumnIndex, c.MappingStatus = 8, "mapped" })}, 14},
		{"duplicate keys keep the first", `[` + workbook(wbLoc, shLoc, tbLoc, `[`+col("1", `"mapped"`)+`, `+col(`"1"`, `"unmapped"`)+`, `+col("1.0", `"unmapped"`)+`]`) + `]`,
			[]Column{with(func(c *Column) { c.ColumnIndex, c.MappingStatus = 1, "mapped" })}, 2},
		{"duplicates across workbooks sharing an index", `[` + workbook(wbLoc, shLoc, tbLoc, `[`+col("1", `"mapped"`)+`]`) + `, ` + workbook(wbLoc, shLoc, tbLoc, `[`+col("1", `"unmapped"`)+`, `+col("2", `"unmapped"`)+`]`) + `]`,
			[]Column{with(func(c *Column) { c.ColumnIndex, c.MappingStatus = 1, "mapped" }), with(func(c *Column) { c.ColumnIndex, c.MappingStatus = 2, "unmapped" })}, 1},
		{"workbook without index is skipped with its columns", `[` + workbook(`{"workbook": {"name": "x"}}`, shLoc, tbLoc, `[`+col("1", `"mapped"`)+`, `+col("2", `"mapped"`)+`]`) + `]`, nil, 2},
		{"workbook with negative index", `[` + workbook(`{"workbook": {"index": -1}}`, shLoc, tbLoc, `[`+col("1", `"mapped"`)+`]`) + `]`, nil, 1},
		{"workbook index from the sheet's locator is not used", `[` + workbook(`{}`, shLoc, tbLoc, `[`+col("1", `"mapped"`)+`]`) + `]`, nil, 1},
		{"sheet without index", `[` + workbook(wbLoc, `{"sheet": {"index": "a"}}`, tbLoc, `[`+col("1", `"mapped"`)+`]`) + `]`, nil, 1},
		{"table without index", `[` + workbook(wbLoc, shLoc, `{"table": {"index": true}}`, `[`+col("1", `"mapped"`)+`]`) + `]`, nil, 1},
		{"table locator wrong type", `[` + workbook(wbLoc, shLoc, `[2]`, `[`+col("1", `"mapped"`)+`]`) + `]`, nil, 1},
		{"levels of the wrong type", `[1, "x", null, {"locator": ` + wbLoc + `, "sheets": {"a": 1}}, {"locator": ` + wbLoc + `, "sheets": [3, {"locator": ` + shLoc + `, "tables": "t"}]}]`, nil, 0},
		{"structure wrong type", `[` + workbook(wbLoc, shLoc, tbLoc, `{"0": {"index": 0}}`) + `]`, nil, 0},
		{"workbooks not a list", `{"locator": ` + wbLoc + `}`, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustParse(t, `{"workbooks": `+tt.workbooks+`}`)
			if !reflect.DeepEqual(s.Columns, tt.want) {
				t.Errorf("Columns\n got %s\nwant %s", dump(s.Columns), dump(tt.want))
			}
			if s.SkippedColumns != tt.skipped {
				t.Errorf("SkippedColumns = %d, want %d", s.SkippedColumns, tt.skipped)
			}
		})
	}
}

func TestOutputsAndExecution(t *testing.T) {
	tests := []struct {
		data                string
		path, status, error string
	}{
		{`{"outputs": {"normalized": {"path": "/runs/r/output/normalized.xlsx"}}, "execution": {"status": "succeeded"}}`, "/runs/r/output/normalized.xlsx", "succeeded", ""},
		{`{"outputs": {"normalized": {"path": " output/x.xlsx "}}}`, " output/x.xlsx ", "", ""},
		{`{"outputs": {"normalized": {"path": 3}}}`, "", "", ""},
		{`{"outputs": {"normalized": "x.xlsx"}}`, "", "", ""},
		{`{"outputs": [{"normalized": {"path": "x"}}]}`, "", "", ""},
		{`{"execution": {"status": " failed ", "error": " boom "}}`, "", "failed", "boom"},
		{`{"execution": {"error": {"message": "bad config", "type": "ValueError"}}}`, "", "", "bad config"},
		{`{"execution": {"error": {"type": "ValueError"}}}`, "", "", ""},
		{`{"execution": {"status": false, "error": []}}`, "", "", ""},
		{`{"execution": "failed"}`, "", "", ""},
	}
	for _, tt := range tests {
		s := mustParse(t, tt.data)
		if s.NormalizedPath != tt.path || s.Status != tt.status || s.Error != tt.error {
			t.Errorf("%s: path %q status %q error %q; want %q %q %q", tt.data, s.NormalizedPath, s.Status, s.Error, tt.path, tt.status, tt.error)
		}
	}
}

func TestNotAnObject(t *testing.T) {
	deep := strings.Repeat("[", 1_000_000) + strings.Repeat("]", 1_000_000)
	for _, data := range []string{
		``, `   `, `null`, `[]`, `[{"counts": {}}]`, `"summary"`, `42`, `true`, `{`, `{"a": }`, `{} {}`, `{}x`,
		"{\"a\": 1}\x00", `{"a": ` + deep + `}`, deep,
	} {
		s, err := Parse([]byte(data))
		if !errors.Is(err, ErrNotObject) {
			t.Errorf("Parse(%.40q) error = %v, want ErrNotObject", data, err)
		}
		if !reflect.DeepEqual(s, Summary{}) {
			t.Errorf("Parse(%.40q) returned data with an error", data)
		}
	}
	if s := mustParse(t, " {}\n"); !reflect.DeepEqual(s, Summary{}) {
		t.Errorf("empty object: %+v", s)
	}
}

// TestDeepNesting checks that nesting up to the decoder's limit anywhere,
// including where levels are expected, costs nothing but the walk.
func TestDeepNesting(t *testing.T) {
	deep := strings.Repeat(`[`, 9_000) + strings.Repeat(`]`, 9_000)
	deepObj := strings.Repeat(`{"a":`, 9_000) + `1` + strings.Repeat(`}`, 9_000)
	data := `{"counts": {"workbooks": 2}, "junk": ` + deep + `, "workbooks": ` + deep + `, "fields": ` + deep +
		`, "evaluation": {"findings": [` + deepObj + `]}}`
	s := mustParse(t, data)
	if s.Metrics == nil || s.Metrics.WorkbookCount == nil || *s.Metrics.WorkbookCount != 2 {
		t.Fatalf("WorkbookCount lost next to deep nesting: %+v", s.Metrics)
	}
	if *s.Metrics.EvaluationFindingsTotal != 1 || len(s.Columns) != 0 || len(s.Fields) != 0 {
		t.Errorf("deep values were read: %+v", s)
	}
}

// TestWrongTypesEverywhere puts every kind of JSON value at every path the
// parser reads and checks that it neither panics nor stores anything.
func TestWrongTypesEverywhere(t *testing.T) {
	paths := []string{
		"evaluation", "evaluation.outcome", "evaluation.findings", "validation", "validation.issues_total",
		"validation.issues_by_severity", "validation.max_severity", "counts", "counts.rows", "counts.columns",
		"counts.fields", "counts.cells", "fields", "workbooks", "outputs", "outputs.normalized",
		"outputs.normalized.path", "execution", "execution.status", "execution.error",
	}
	values := []string{`null`, `true`, `false`, `-1`, `1.5`, `"x"`, `""`, `[]`, `[null, 1, "a", [], {}]`, `{}`, `{"x": {"y": [1]}}`}
	for _, p := range paths {
		for _, v := range values {
			s := mustParse(t, nest(p, v))
			if len(s.Fields) != 0 || len(s.Columns) != 0 {
				t.Errorf("%s = %s produced rows: %+v", p, v, s)
			}
		}
	}
}

func TestManyColumns(t *testing.T) {
	const n = 100_000
	data := genSummary(1, 4, 5, n/20)
	s := mustParse(t, data)
	if len(s.Columns) != n {
		t.Fatalf("got %d columns, want %d", len(s.Columns), n)
	}
	if s.SkippedColumns != 0 {
		t.Errorf("SkippedColumns = %d", s.SkippedColumns)
	}
	last := s.Columns[n-1]
	if last.WorkbookIndex != 0 || last.SheetIndex != 3 || last.TableIndex != 4 || last.ColumnIndex != int64(n/20-1) {
		t.Errorf("last column key = %d/%d/%d/%d", last.WorkbookIndex, last.SheetIndex, last.TableIndex, last.ColumnIndex)
	}
	if len(s.Fields) != 200 || s.Metrics == nil {
		t.Errorf("fields %d, metrics %v", len(s.Fields), s.Metrics)
	}
}

func TestIntegerAndFloat(t *testing.T) {
	ints := map[string]*int64{
		`0`: ptr[int64](0), `-7`: ptr[int64](-7), `"  42 "`: ptr[int64](42), `1E2`: ptr[int64](100), `"-9223372036854775808"`: ptr[int64](math.MinInt64),
		`-9223372036854775809`: nil, `-1e19`: nil, `"1e"`: nil, `"."`: nil, `".5"`: nil, `"5."`: ptr[int64](5), `"e5"`: nil, `"--1"`: nil, `true`: nil,
		`"1 2"`: nil, `"١٢"`: nil,
	}
	for in, want := range ints {
		var v any
		dec := json.NewDecoder(strings.NewReader(in))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		n, ok := integer(v)
		if (want == nil) == ok || (ok && n != *want) {
			t.Errorf("integer(%s) = %d, %v; want %v", in, n, ok, want)
		}
	}
	floats := map[any]*float64{
		json.Number("0.25"): ptr(0.25), " 1e-3 ": ptr(0.001), "-2": ptr(-2.0), json.Number("1e999"): nil,
		"Infinity": nil, "nan": nil, "0x1p3": nil, true: nil, nil: nil, "": nil,
	}
	for in, want := range floats {
		got := float(in)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("float(%#v) = %v, want %v", in, got, want)
		}
	}
}

func dump(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func BenchmarkParse5MB(b *testing.B) {
	// 1 workbook × 10 sheets × 4 tables × 600 columns = 24,000 columns.
	data := []byte(genSummary(1, 10, 4, 600))
	b.ReportMetric(float64(len(data))/(1<<20), "MB")
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		s, err := Parse(data)
		if err != nil || len(s.Columns) != 24_000 {
			b.Fatalf("%d columns, %v", len(s.Columns), err)
		}
	}
}
