package results

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// decodeValue decodes one JSON value the way Parse does (numbers kept as
// json.Number).
func decodeValue(t *testing.T, in string) any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(in))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %s: %v", in, err)
	}
	return v
}

// TestLenientCoercions covers, case by case, how the original worker read a
// summary's values (CONTRACT.md, "Results"): booleans from JSON booleans,
// numbers (non-zero is true) and the strings 1/true/yes/y/on,
// 0/false/no/n/off trimmed in any case; integers from integers, integral
// floats and numeric strings, never from booleans; floats from numbers and
// numeric strings; strings trimmed, empty is absent. "absent" is what the
// original read as None.
func TestLenientCoercions(t *testing.T) {
	t.Parallel()
	const absent = "absent"
	cases := []struct {
		kind, in, want string
	}{
		// booleans
		{"bool", `true`, "true"}, {"bool", `false`, "false"},
		{"bool", `1`, "true"}, {"bool", `0`, "false"}, {"bool", `0.0`, "false"}, {"bool", `-0.0`, "false"},
		{"bool", `2`, "true"}, {"bool", `-1`, "true"}, {"bool", `0.5`, "true"}, {"bool", `1e999`, "true"}, {"bool", `1e-999`, "false"},
		{"bool", `"1"`, "true"}, {"bool", `"true"`, "true"}, {"bool", `"TRUE"`, "true"}, {"bool", `" Yes "`, "true"},
		{"bool", `"y"`, "true"}, {"bool", `"On"`, "true"}, {"bool", `"\tyes\n"`, "true"},
		{"bool", `"0"`, "false"}, {"bool", `"false"`, "false"}, {"bool", `"No"`, "false"}, {"bool", `"n"`, "false"},
		{"bool", `" OFF "`, "false"}, {"bool", `"False"`, "false"},
		{"bool", `"maybe"`, absent}, {"bool", `""`, absent}, {"bool", `"  "`, absent}, {"bool", `"2"`, absent},
		{"bool", `"1.0"`, absent}, {"bool", `"t"`, absent}, {"bool", `null`, absent}, {"bool", `[]`, absent}, {"bool", `{}`, absent},

		// integers
		{"int", `3`, "3"}, {"int", `-3`, "-3"}, {"int", `3.0`, "3"}, {"int", `1e3`, "1000"}, {"int", `-0.0`, "0"},
		{"int", `"12"`, "12"}, {"int", `" -3 "`, "-3"}, {"int", `"007"`, "7"},
		{"int", `3.5`, absent}, {"int", `"3.5"`, absent}, {"int", `"abc"`, absent}, {"int", `""`, absent},
		{"int", `true`, absent}, {"int", `false`, absent}, {"int", `null`, absent}, {"int", `[1]`, absent},
		{"int", `"--1"`, absent}, {"int", `9223372036854775808`, absent},

		// floats
		{"float", `1`, "1"}, {"float", `1.5`, "1.5"}, {"float", `-2.25`, "-2.25"}, {"float", `"2.5"`, "2.5"},
		{"float", `" 3 "`, "3"}, {"float", `"1e-3"`, "0.001"},
		{"float", `true`, absent}, {"float", `"x"`, absent}, {"float", `""`, absent}, {"float", `null`, absent},
		{"float", `{}`, absent}, {"float", `"NaN"`, absent}, {"float", `"inf"`, absent},

		// strings
		{"string", `"a"`, "a"}, {"string", `"  padded\t"`, "padded"}, {"string", `""`, absent}, {"string", `"   "`, absent},
		{"string", `7`, absent}, {"string", `true`, absent}, {"string", `null`, absent}, {"string", `["a"]`, absent},
	}
	for _, c := range cases {
		v := decodeValue(t, c.in)
		got := absent
		switch c.kind {
		case "bool":
			if b, ok := boolean(v); ok {
				got = fmt.Sprint(b)
			}
		case "int":
			if n, ok := integer(v); ok {
				got = fmt.Sprint(n)
			}
		case "float":
			if f := float(v); f != nil {
				got = fmt.Sprint(*f)
			}
		case "string":
			if s := text(v); s != nil {
				got = *s
			}
		}
		if got != c.want {
			t.Errorf("%s from %s = %s, want %s", c.kind, c.in, got, c.want)
		}
	}
}

// TestLenientSummary reads one summary whose values use every spelling the
// original accepted, through Parse, into the rows the worker stores.
func TestLenientSummary(t *testing.T) {
	t.Parallel()
	s := mustParse(t, `{
		"counts": {"workbooks": "1", "sheets": 2.0, "rows": {"total": " 40 ", "empty": true}},
		"validation": {"max_severity": "  warning ", "issues_total": "3"},
		"evaluation": {"outcome": 5},
		"fields": [
			{"field": " email ", "label": "  ", "detected": "yes", "best_mapping_score": "0.75", "occurrences": {"tables": "1", "columns": 2.0}},
			{"field": "phone", "detected": 0},
			{"field": "fax", "detected": "nope"}
		],
		"workbooks": [{"locator": {"workbook": {"index": "0", "name": " in.xlsx "}}, "sheets": [{
			"locator": {"sheet": {"index": 0.0, "name": "S"}}, "tables": [{"locator": {"table": {"index": "0"}},
			"structure": {"columns": [{"index": "2", "non_empty_cells": "9", "header": {"raw": " Email "},
				"mapping": {"status": " MAPPED ", "field": "email", "score": "1"}}]}}]}]}]
	}`)
	m := s.Metrics
	if m == nil || *m.WorkbookCount != 1 || *m.SheetCount != 2 || *m.RowCountTotal != 40 || m.RowCountEmpty != nil ||
		*m.ValidationMaxSeverity != "warning" || *m.ValidationIssuesTotal != 3 || m.EvaluationOutcome != nil {
		t.Errorf("metrics = %s", dump(m))
	}
	want := []Field{
		{Field: "email", Detected: true, BestMappingScore: ptr(0.75), OccurrencesTables: 1, OccurrencesColumns: 2},
		{Field: "phone"},
	}
	if dump(s.Fields) != dump(want) || s.SkippedFields != 1 {
		t.Errorf("fields = %s (skipped %d), want %s (skipped 1)", dump(s.Fields), s.SkippedFields, dump(want))
	}
	if len(s.Columns) != 1 {
		t.Fatalf("columns = %s", dump(s.Columns))
	}
	c := s.Columns[0]
	if c.ColumnIndex != 2 || c.NonEmptyCells != 9 || *c.HeaderRaw != "Email" || c.MappingStatus != "mapped" ||
		*c.MappingScore != 1 || *c.WorkbookName != "in.xlsx" {
		t.Errorf("column = %s", dump(c))
	}
}
