package results

import (
	"encoding/json"
	"strings"
	"testing"
)

// Text up to the stored limits is kept whole; longer text is left out, the
// same on every database, and said so: a field whose name is too long is
// dropped (the name is its key), any other value becomes absent.
func TestTextLongerThanStoredIsLeftOutAndNoted(t *testing.T) {
	at := func(n int) string { return strings.Repeat("x", n) }
	// 2,000 emoji are 4,000 UTF-16 code units, the most NVARCHAR(4000)
	// holds; one more character is one too many.
	emoji := strings.Repeat("😀", 2000)
	summary := map[string]any{
		"evaluation": map[string]any{"outcome": at(MaxTextLength + 1)},
		"validation": map[string]any{"max_severity": "error"},
		"fields": []any{
			map[string]any{"field": at(MaxNameLength), "label": at(1500), "detected": true},
			map[string]any{"field": at(MaxNameLength + 1), "label": "kept? no: its field is dropped", "detected": true},
			map[string]any{"field": "emoji", "label": emoji, "detected": false},
			map[string]any{"field": "emoji+1", "label": emoji + "x", "detected": false},
		},
		"workbooks": []any{map[string]any{
			"locator": map[string]any{"workbook": map[string]any{"index": 0, "name": at(MaxTextLength)}},
			"sheets": []any{map[string]any{
				"locator": map[string]any{"sheet": map[string]any{"index": 0, "name": at(MaxTextLength + 1)}},
				"tables": []any{map[string]any{
					"locator": map[string]any{"table": map[string]any{"index": 0}},
					"structure": map[string]any{"columns": []any{map[string]any{
						"index": 0, "header": map[string]any{"raw": at(10000)},
						"mapping": map[string]any{"status": "mapped", "field": at(MaxNameLength + 1), "unmapped_reason": at(3)},
					}}},
				}},
			}},
		}},
	}
	data, err := json.Marshal(summary)
	if err != nil {
		t.Fatal(err)
	}
	s := mustParse(t, string(data))

	if s.Metrics == nil || s.Metrics.EvaluationOutcome != nil || *s.Metrics.ValidationMaxSeverity != "error" {
		t.Errorf("metrics = %+v; want the overlong outcome left out, the severity kept", s.Metrics)
	}
	var names []string
	for _, f := range s.Fields {
		names = append(names, f.Field)
	}
	if len(s.Fields) != 3 || s.Fields[0].Field != at(MaxNameLength) || *s.Fields[0].Label != at(1500) ||
		*s.Fields[1].Label != emoji || s.Fields[2].Label != nil || s.SkippedFields != 1 {
		t.Errorf("fields %d (skipped %d); want the 400-character name and both labels within the limit kept, the 401-character name dropped, the overlong label left out", len(names), s.SkippedFields)
	}
	c := s.Columns[0]
	if len(s.Columns) != 1 || *c.WorkbookName != at(MaxTextLength) || c.SheetName != nil || c.MappedField != nil ||
		*c.HeaderRaw != at(10000) || *c.UnmappedReason != "xxx" {
		t.Errorf("column = %+v; want the 4,000-character workbook name and the long header kept, the overlong sheet name and mapped field left out", c)
	}
	if len(s.TooLong) != 5 {
		t.Fatalf("TooLong = %q; want 5 notes", s.TooLong)
	}
	for _, want := range []string{"evaluation.outcome is 4001 characters long; at most 4000 are stored", "is 401 characters long; at most 400 are stored, so the field was left out", "the label of field \"emoji+1\" is 4001"} {
		if !strings.Contains(strings.Join(s.TooLong, "\n"), want) {
			t.Errorf("TooLong = %q; want a note with %q", s.TooLong, want)
		}
	}
}

// A summary with many overlong values is reported by its first notes and a
// count of the rest.
func TestTooLongNotesAreBounded(t *testing.T) {
	var fields []any
	for range 25 {
		fields = append(fields, map[string]any{"field": strings.Repeat("n", MaxNameLength+1) + strings.Repeat("z", len(fields)), "detected": true})
	}
	data, _ := json.Marshal(map[string]any{"fields": fields})
	s := mustParse(t, string(data))
	if len(s.Fields) != 0 || s.SkippedFields != 25 || len(s.TooLong) != maxNotes+1 || s.TooLong[maxNotes] != "and 15 more values too long to store" {
		t.Fatalf("fields %d, skipped %d, notes %d (last %q)", len(s.Fields), s.SkippedFields, len(s.TooLong), s.TooLong[len(s.TooLong)-1])
	}
}
