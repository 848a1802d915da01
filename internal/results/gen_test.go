package results

import (
	"fmt"
	"strings"
)

// genSummary builds a realistic summary with workbooks × sheets × tables ×
// columns column items, 200 fields and a full set of counts.
func genSummary(workbooks, sheets, tables, columns int) string {
	var b strings.Builder
	b.WriteString(`{"event_version": 1, "execution": {"status": "succeeded", "duration_ms": 5321},`)
	b.WriteString(`"outputs": {"normalized": {"path": "/data/workspaces/w/runs/r/output/normalized.xlsx"}},`)
	b.WriteString(`"evaluation": {"outcome": "passed", "findings": [`)
	for i := range 300 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"severity": %q, "code": "F%03d", "message": "finding number %d"}`, []string{"info", "warning", "error"}[i%3], i, i)
	}
	b.WriteString(`]}, "validation": {"issues_total": 12, "issues_by_severity": {"info": 4, "warning": 6, "error": 2}, "max_severity": "error"},`)
	fmt.Fprintf(&b, `"counts": {"workbooks": %d, "sheets": %d, "tables": %d, "rows": {"total": 100000, "empty": 12},`, workbooks, workbooks*sheets, workbooks*sheets*tables)
	b.WriteString(`"columns": {"total": 9, "empty": 1, "mapped": 6, "unmapped": 3}, "fields": {"expected": 200, "detected": 150, "not_detected": 50}, "cells": {"total": 900000, "non_empty": 850000}},`)
	b.WriteString(`"fields": [`)
	for i := range 200 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"field": "field_%d", "label": "Field %d", "detected": %t, "best_mapping_score": 0.%d, "occurrences": {"tables": %d, "columns": %d}}`, i, i, i%4 != 0, i%10, i%3, i%5)
	}
	b.WriteString(`], "workbooks": [`)
	for w := range workbooks {
		if w > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"locator": {"workbook": {"index": %d, "name": "Book %d.xlsx"}}, "sheets": [`, w, w)
		for s := range sheets {
			if s > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"locator": {"workbook": {"index": %d}, "sheet": {"index": %d, "name": "Sheet %d"}}, "tables": [`, w, s, s)
			for t := range tables {
				if t > 0 {
					b.WriteByte(',')
				}
				fmt.Fprintf(&b, `{"locator": {"table": {"index": %d}}, "structure": {"header_row": 1, "columns": [`, t)
				for c := range columns {
					if c > 0 {
						b.WriteByte(',')
					}
					if c%3 == 0 {
						fmt.Fprintf(&b, `{"index": %d, "header": {"raw": "Column %d", "normalized": "column_%d"}, "non_empty_cells": %d, "mapping": {"status": "unmapped", "unmapped_reason": "no_candidate", "score": 0.12}}`, c, c, c, c*7)
					} else {
						fmt.Fprintf(&b, `{"index": %d, "header": {"raw": "Column %d", "normalized": "column_%d"}, "non_empty_cells": %d, "mapping": {"status": "mapped", "field": "field_%d", "score": 0.9%d, "method": "header_match"}}`, c, c, c, c*7, c%200, c%10)
					}
				}
				b.WriteString(`]}}`)
			}
			b.WriteString(`]}`)
		}
		b.WriteString(`]}`)
	}
	b.WriteString(`]}`)
	return b.String()
}
