// Package results reads the run summary — the data of the engine's last
// engine.run.completed event — into the rows of run_metrics, run_fields and
// run_table_columns.
//
// The summary comes from the engine, whose versions and configuration code
// vary, so reading is lenient: a value of the wrong type, or an item missing
// what identifies it, is dropped and everything else is kept. A bad summary
// must never fail a run that produced its output, nor crash the worker, nor
// put garbage in the database.
package results

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Summary is what the worker stores from a run summary.
type Summary struct {
	// Metrics is the run_metrics row; nil when the summary has no value
	// for any of its columns (no row is written then).
	Metrics *Metrics
	// Fields are the run_fields rows, one per distinct field name, in
	// the order of the summary.
	Fields []Field
	// Columns are the run_table_columns rows, one per distinct
	// (workbook, sheet, table, column) index, in the order of the summary.
	Columns []Column
	// NormalizedPath is outputs.normalized.path exactly as given; "" when
	// absent. It is not trusted: see paths.SafeJoinInside.
	NormalizedPath string
	// Status is execution.status, trimmed; "" when absent.
	Status string
	// Error is execution.error (a string, or an object's "message"),
	// trimmed; "" when absent.
	Error string
	// SkippedFields and SkippedColumns count the items dropped because
	// they lacked a required value, repeated a key, or (a field) had a name
	// longer than MaxNameLength, so the caller can log that the summary was
	// not fully understood.
	SkippedFields, SkippedColumns int
	// TooLong says which values were left out for being longer than the
	// database stores (MaxNameLength, MaxTextLength), the first few of
	// them; empty when none was.
	TooLong []string
}

// Metrics is the run_metrics row. Each field is nil when the summary has no
// usable value for it.
type Metrics struct {
	EvaluationOutcome         *string // evaluation.outcome
	EvaluationFindingsTotal   *int64  // len(evaluation.findings)
	EvaluationFindingsInfo    *int64  // findings with severity "info"
	EvaluationFindingsWarning *int64  // findings with severity "warning" (or "warn")
	EvaluationFindingsError   *int64  // findings with severity "error"
	ValidationIssuesTotal     *int64  // validation.issues_total
	ValidationIssuesInfo      *int64  // validation.issues_by_severity.info
	ValidationIssuesWarning   *int64  // validation.issues_by_severity.warning
	ValidationIssuesError     *int64  // validation.issues_by_severity.error
	ValidationMaxSeverity     *string // validation.max_severity
	WorkbookCount             *int64  // counts.workbooks
	SheetCount                *int64  // counts.sheets
	TableCount                *int64  // counts.tables
	RowCountTotal             *int64  // counts.rows.total
	RowCountEmpty             *int64  // counts.rows.empty
	ColumnCountTotal          *int64  // counts.columns.total
	ColumnCountEmpty          *int64  // counts.columns.empty
	ColumnCountMapped         *int64  // counts.columns.mapped
	ColumnCountUnmapped       *int64  // counts.columns.unmapped
	FieldCountExpected        *int64  // counts.fields.expected
	FieldCountDetected        *int64  // counts.fields.detected
	FieldCountNotDetected     *int64  // counts.fields.not_detected
	CellCountTotal            *int64  // counts.cells.total
	CellCountNonEmpty         *int64  // counts.cells.non_empty
}

// Field is a run_fields row, from one item of fields[].
type Field struct {
	Field              string   // field (required)
	Label              *string  // label
	Detected           bool     // detected (required; read by boolean)
	BestMappingScore   *float64 // best_mapping_score
	OccurrencesTables  int64    // occurrences.tables, default 0
	OccurrencesColumns int64    // occurrences.columns, default 0
}

// Column is a run_table_columns row, from one item of
// workbooks[].sheets[].tables[].structure.columns[].
type Column struct {
	WorkbookIndex    int64    // the workbook's locator.workbook.index
	WorkbookName     *string  // the workbook's locator.workbook.name
	SheetIndex       int64    // the sheet's locator.sheet.index
	SheetName        *string  // the sheet's locator.sheet.name
	TableIndex       int64    // the table's locator.table.index
	ColumnIndex      int64    // index (required)
	HeaderRaw        *string  // header.raw
	HeaderNormalized *string  // header.normalized
	NonEmptyCells    int64    // non_empty_cells, default 0
	MappingStatus    string   // mapping.status: "mapped" or "unmapped"
	MappedField      *string  // mapping.field
	MappingScore     *float64 // mapping.score
	MappingMethod    *string  // mapping.method
	UnmappedReason   *string  // mapping.unmapped_reason
}

// ErrNotObject is returned when the summary is not a JSON object that can
// be read at all.
var ErrNotObject = errors.New("run summary is not a JSON object")

// Parse reads a run summary. It fails only when data is not a JSON object
// (including JSON nested deeper than encoding/json's limit of 10,000
// levels, which it refuses to read); anything inside the object that does
// not fit is dropped. Its cost is linear in len(data).
//
// Values are read leniently:
//   - integers from JSON integers, integral numbers (3.0, 1e3) or strings
//     holding such a number (trimmed); never from booleans; a value beyond
//     int64 is absent;
//   - counts and indexes cannot be negative: a negative one is absent (and
//     an item whose index is absent is skipped);
//   - floats from JSON numbers or numeric strings, finite only;
//   - booleans from JSON booleans, numbers (non-zero is true) or the
//     strings 1/true/yes/y/on and 0/false/no/n/off, trimmed, in any case;
//   - strings from JSON strings only, trimmed; empty is absent.
//   - text longer than the database stores is left out, the same on every
//     database (see applyLimits), and listed in Summary.TooLong.
func Parse(data []byte) (Summary, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return Summary{}, fmt.Errorf("%w: %v", ErrNotObject, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Summary{}, fmt.Errorf("%w: unexpected data after the object", ErrNotObject)
	}
	root, ok := v.(map[string]any)
	if !ok {
		return Summary{}, fmt.Errorf("%w: got %s", ErrNotObject, kind(v))
	}

	s := Summary{Metrics: readMetrics(root)}
	s.Fields, s.SkippedFields = readFields(root["fields"])
	s.Columns, s.SkippedColumns = readColumns(root["workbooks"])

	if p, ok := object(object(root["outputs"])["normalized"])["path"].(string); ok {
		s.NormalizedPath = p
	}
	execution := object(root["execution"])
	if status := text(execution["status"]); status != nil {
		s.Status = *status
	}
	errValue := execution["error"]
	if o := object(errValue); o != nil {
		errValue = o["message"]
	}
	if msg := text(errValue); msg != nil {
		s.Error = *msg
	}
	applyLimits(&s)
	return s, nil
}

func readMetrics(root map[string]any) *Metrics {
	var m Metrics

	evaluation := object(root["evaluation"])
	m.EvaluationOutcome = text(evaluation["outcome"])
	if findings, ok := evaluation["findings"].([]any); ok {
		var info, warning, errs int64
		for _, finding := range findings {
			severity := text(object(finding)["severity"])
			if severity == nil {
				continue
			}
			switch strings.ToLower(*severity) {
			case "info":
				info++
			case "warning", "warn":
				warning++
			case "error":
				errs++
			}
		}
		total := int64(len(findings))
		m.EvaluationFindingsTotal = &total
		m.EvaluationFindingsInfo = &info
		m.EvaluationFindingsWarning = &warning
		m.EvaluationFindingsError = &errs
	}

	validation := object(root["validation"])
	m.ValidationIssuesTotal = count(validation["issues_total"])
	bySeverity := object(validation["issues_by_severity"])
	m.ValidationIssuesInfo = count(bySeverity["info"])
	m.ValidationIssuesWarning = count(bySeverity["warning"])
	m.ValidationIssuesError = count(bySeverity["error"])
	m.ValidationMaxSeverity = text(validation["max_severity"])

	counts := object(root["counts"])
	m.WorkbookCount = count(counts["workbooks"])
	m.SheetCount = count(counts["sheets"])
	m.TableCount = count(counts["tables"])
	rows := object(counts["rows"])
	m.RowCountTotal = count(rows["total"])
	m.RowCountEmpty = count(rows["empty"])
	columns := object(counts["columns"])
	m.ColumnCountTotal = count(columns["total"])
	m.ColumnCountEmpty = count(columns["empty"])
	m.ColumnCountMapped = count(columns["mapped"])
	m.ColumnCountUnmapped = count(columns["unmapped"])
	fields := object(counts["fields"])
	m.FieldCountExpected = count(fields["expected"])
	m.FieldCountDetected = count(fields["detected"])
	m.FieldCountNotDetected = count(fields["not_detected"])
	cells := object(counts["cells"])
	m.CellCountTotal = count(cells["total"])
	m.CellCountNonEmpty = count(cells["non_empty"])

	if m == (Metrics{}) {
		return nil
	}
	return &m
}

// readFields reads fields[]: an item needs a field name and a detected
// that reads as a boolean (see boolean); a repeated name keeps its first item (run_fields is keyed by
// run and field).
func readFields(v any) (fields []Field, skipped int) {
	items, _ := v.([]any)
	seen := make(map[string]struct{}, len(items))
	for _, item := range items {
		o := object(item)
		name := text(o["field"])
		detected, ok := boolean(o["detected"])
		if name == nil || !ok {
			skipped++
			continue
		}
		if _, dup := seen[*name]; dup {
			skipped++
			continue
		}
		seen[*name] = struct{}{}
		occurrences := object(o["occurrences"])
		fields = append(fields, Field{
			Field:              *name,
			Label:              text(o["label"]),
			Detected:           detected,
			BestMappingScore:   float(o["best_mapping_score"]),
			OccurrencesTables:  countOrZero(occurrences["tables"]),
			OccurrencesColumns: countOrZero(occurrences["columns"]),
		})
	}
	return fields, skipped
}

// columnKey is run_table_columns' key within a run.
type columnKey struct{ workbook, sheet, table, column int64 }

// readColumns walks workbooks[].sheets[].tables[].structure.columns[]. A
// workbook, sheet or table without its locator index is skipped with
// everything under it; a column needs an index and a mapped/unmapped
// status; a repeated key keeps its first column.
func readColumns(v any) (columns []Column, skipped int) {
	seen := map[columnKey]struct{}{}
	for _, wb := range array(v) {
		workbook := object(wb)
		wbLoc := object(object(workbook["locator"])["workbook"])
		wbIndex := count(wbLoc["index"])
		if wbIndex == nil {
			skipped += columnsUnder(workbook, 0)
			continue
		}
		wbName := text(wbLoc["name"])
		for _, sh := range array(workbook["sheets"]) {
			sheet := object(sh)
			shLoc := object(object(sheet["locator"])["sheet"])
			shIndex := count(shLoc["index"])
			if shIndex == nil {
				skipped += columnsUnder(sheet, 1)
				continue
			}
			shName := text(shLoc["name"])
			for _, tb := range array(sheet["tables"]) {
				table := object(tb)
				tbIndex := count(object(object(table["locator"])["table"])["index"])
				if tbIndex == nil {
					skipped += columnsUnder(table, 2)
					continue
				}
				for _, c := range array(object(table["structure"])["columns"]) {
					col := object(c)
					colIndex := count(col["index"])
					mapping := object(col["mapping"])
					status := mappingStatus(mapping["status"])
					if colIndex == nil || status == "" {
						skipped++
						continue
					}
					key := columnKey{*wbIndex, *shIndex, *tbIndex, *colIndex}
					if _, dup := seen[key]; dup {
						skipped++
						continue
					}
					seen[key] = struct{}{}
					header := object(col["header"])
					columns = append(columns, Column{
						WorkbookIndex:    *wbIndex,
						WorkbookName:     wbName,
						SheetIndex:       *shIndex,
						SheetName:        shName,
						TableIndex:       *tbIndex,
						ColumnIndex:      *colIndex,
						HeaderRaw:        text(header["raw"]),
						HeaderNormalized: text(header["normalized"]),
						NonEmptyCells:    countOrZero(col["non_empty_cells"]),
						MappingStatus:    status,
						MappedField:      text(mapping["field"]),
						MappingScore:     float(mapping["score"]),
						MappingMethod:    text(mapping["method"]),
						UnmappedReason:   text(mapping["unmapped_reason"]),
					})
				}
			}
		}
	}
	return columns, skipped
}

// columnsUnder counts the column items under a skipped level (0 workbook,
// 1 sheet, 2 table), for Summary.SkippedColumns.
func columnsUnder(level map[string]any, depth int) int {
	switch depth {
	case 0:
		n := 0
		for _, sheet := range array(level["sheets"]) {
			n += columnsUnder(object(sheet), 1)
		}
		return n
	case 1:
		n := 0
		for _, table := range array(level["tables"]) {
			n += columnsUnder(object(table), 2)
		}
		return n
	}
	return len(array(object(level["structure"])["columns"]))
}

func mappingStatus(v any) string {
	s := text(v)
	if s == nil {
		return ""
	}
	switch status := strings.ToLower(*s); status {
	case "mapped", "unmapped":
		return status
	}
	return ""
}
