package results

import (
	"errors"
	"math"
	"testing"
)

// FuzzParse checks that Parse never panics and that whatever it returns can
// be written as is: keys unique, counts and indexes non-negative, statuses
// known, scores finite, and Metrics nil exactly when it holds nothing.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"workbooks": [{"locator": {"workbook": {"index": 0, "name": "b"}}, "sheets": [{"locator": {"sheet": {"index": "1"}},
		"tables": [{"locator": {"table": {"index": 2.0}}, "structure": {"columns": [{"index": 0, "mapping": {"status": "Mapped", "score": "0.5"}}]}}]}]}]}`))
	f.Add([]byte(`{"fields": [{"field": "a", "detected": true}], "counts": {"rows": {"total": "3"}}}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse(data)
		if err != nil {
			if !errors.Is(err, ErrNotObject) {
				t.Fatalf("error %v does not wrap ErrNotObject", err)
			}
			return
		}
		if s.Metrics != nil && *s.Metrics == (Metrics{}) {
			t.Fatal("empty Metrics returned instead of nil")
		}
		fields := map[string]bool{}
		for _, fd := range s.Fields {
			if fd.Field == "" || fields[fd.Field] {
				t.Fatalf("empty or duplicate field %q", fd.Field)
			}
			fields[fd.Field] = true
			if fd.OccurrencesTables < 0 || fd.OccurrencesColumns < 0 {
				t.Fatalf("negative occurrences: %+v", fd)
			}
			checkFloat(t, fd.BestMappingScore)
			checkText(t, fd.Label)
		}
		keys := map[columnKey]bool{}
		for _, c := range s.Columns {
			k := columnKey{c.WorkbookIndex, c.SheetIndex, c.TableIndex, c.ColumnIndex}
			if keys[k] {
				t.Fatalf("duplicate column key %+v", k)
			}
			keys[k] = true
			if c.WorkbookIndex < 0 || c.SheetIndex < 0 || c.TableIndex < 0 || c.ColumnIndex < 0 || c.NonEmptyCells < 0 {
				t.Fatalf("negative index or count: %+v", c)
			}
			if c.MappingStatus != "mapped" && c.MappingStatus != "unmapped" {
				t.Fatalf("mapping status %q", c.MappingStatus)
			}
			checkFloat(t, c.MappingScore)
			for _, p := range []*string{c.WorkbookName, c.SheetName, c.HeaderRaw, c.HeaderNormalized, c.MappedField, c.MappingMethod, c.UnmappedReason} {
				checkText(t, p)
			}
		}
	})
}

func checkFloat(t *testing.T, f *float64) {
	t.Helper()
	if f != nil && (math.IsNaN(*f) || math.IsInf(*f, 0)) {
		t.Fatalf("non-finite float %v", *f)
	}
}

func checkText(t *testing.T, s *string) {
	t.Helper()
	if s != nil && *s == "" {
		t.Fatal("empty string returned instead of nil")
	}
}
