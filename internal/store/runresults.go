package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"

	"github.com/ade-dev/ade-worker/gen/db"
	"github.com/ade-dev/ade-worker/internal/results"
)

// ResultChunk bounds the rows of one results insert, keeping each statement
// under SQL Server's lock-escalation threshold.
const ResultChunk = 1000

// RunResults are a run summary's rows as ReplaceRunResults writes them:
// fields and columns as JSON arrays, unpacked by the database (json_each on
// SQLite, OPENJSON on SQL Server), one statement per chunk. They are
// encoded before the write transaction, so the encoding does not hold the
// write lock.
type RunResults struct {
	metrics *db.InsertRunMetricsParams
	fields  []string // JSON arrays of at most ResultChunk rows each
	columns []string // JSON arrays of at most ResultChunk rows
	rows    int
}

// Rows is the number of rows ReplaceRunResults inserts, to bound a batch
// of acks.
func (r RunResults) Rows() int { return r.rows }

// Chunks is the number of field and of column insert statements.
func (r RunResults) Chunks() (fields, columns int) { return len(r.fields), len(r.columns) }

// resultsError is a failed statement of ReplaceRunResults, naming its table,
// so that a table the database refuses for good can be left out.
type resultsError struct {
	op, table string // "insert", "run_fields"
	err       error
}

func (e *resultsError) Error() string { return e.op + " " + e.table + ": " + e.err.Error() }

func (e *resultsError) Unwrap() error { return e.err }

// Drop leaves out of e the rows of the table whose insert failed with err,
// and names them; ok is false when err is not such a failure or that table
// is already left out. A table the database refuses for good (a constraint,
// a value it cannot store) can then be left out and the rest written.
func (e *RunResults) Drop(err error) (what string, ok bool) {
	var re *resultsError
	if !errors.As(err, &re) || re.op != "insert" {
		return "", false
	}
	switch re.table {
	case "run_metrics":
		if e.metrics == nil {
			return "", false
		}
		e.metrics = nil
	case "run_fields":
		if e.fields == nil {
			return "", false
		}
		e.fields = nil
	case "run_table_columns":
		if e.columns == nil {
			return "", false
		}
		e.columns = nil
	default:
		return "", false
	}
	return re.table + " rows", true
}

// EncodeRunResults encodes the rows of s for ReplaceRunResults (nil s:
// none).
func EncodeRunResults(runID string, s *results.Summary) (RunResults, error) {
	var e RunResults
	if s == nil {
		return e, nil
	}
	e.rows = len(s.Fields) + len(s.Columns)
	if s.Metrics != nil {
		p := metricsParams(runID, s.Metrics)
		e.metrics = &p
		e.rows++
	}
	var err error
	e.fields, err = encodeChunks(s.Fields, func(f results.Field) fieldJSON {
		return fieldJSON{f.Field, f.Label, f.Detected, f.BestMappingScore, f.OccurrencesTables, f.OccurrencesColumns}
	})
	if err != nil {
		return e, err
	}
	e.columns, err = encodeChunks(s.Columns, func(c results.Column) columnJSON {
		return columnJSON{c.WorkbookIndex, c.WorkbookName, c.SheetIndex, c.SheetName, c.TableIndex, c.ColumnIndex,
			c.HeaderRaw, c.HeaderNormalized, c.NonEmptyCells, c.MappingStatus, c.MappedField, c.MappingScore,
			c.MappingMethod, c.UnmappedReason}
	})
	if err != nil {
		return e, err
	}
	return e, nil
}

// encodeChunks encodes items as JSON arrays of at most ResultChunk rows each.
func encodeChunks[T, R any](items []T, row func(T) R) ([]string, error) {
	var chunks []string
	for start := 0; start < len(items); start += ResultChunk {
		chunk := items[start:min(start+ResultChunk, len(items))]
		rows := make([]R, len(chunk))
		for i, it := range chunk {
			rows[i] = row(it)
		}
		b, err := json.Marshal(rows)
		if err != nil {
			return nil, err
		}
		chunks = append(chunks, string(b))
	}
	return chunks, nil
}

// ReplaceRunResults replaces the run's metrics, fields and table columns
// with e, in the transaction of q (the one that marks the run succeeded).
func ReplaceRunResults(ctx context.Context, q *db.Queries, runID string, e RunResults) error {
	if err := q.DeleteRunMetrics(ctx, runID); err != nil {
		return &resultsError{"delete", "run_metrics", err}
	}
	if err := q.DeleteRunFields(ctx, runID); err != nil {
		return &resultsError{"delete", "run_fields", err}
	}
	if err := q.DeleteRunTableColumns(ctx, runID); err != nil {
		return &resultsError{"delete", "run_table_columns", err}
	}
	if e.metrics != nil {
		if err := q.InsertRunMetrics(ctx, *e.metrics); err != nil {
			return &resultsError{"insert", "run_metrics", err}
		}
	}
	for _, fields := range e.fields {
		if err := q.InsertRunFields(ctx, db.InsertRunFieldsParams{RunID: runID, Fields: fields}); err != nil {
			return &resultsError{"insert", "run_fields", err}
		}
	}
	for _, cols := range e.columns {
		if err := q.InsertRunTableColumns(ctx, db.InsertRunTableColumnsParams{RunID: runID, Columns: cols}); err != nil {
			return &resultsError{"insert", "run_table_columns", err}
		}
	}
	return nil
}

// fieldJSON and columnJSON are one row of the JSON array the insert
// statements unpack (json_each on SQLite, OPENJSON on SQL Server); the keys
// are the column names.
type fieldJSON struct {
	Field              string   `json:"field"`
	Label              *string  `json:"label"`
	Detected           bool     `json:"detected"`
	BestMappingScore   *float64 `json:"best_mapping_score"`
	OccurrencesTables  int64    `json:"occurrences_tables"`
	OccurrencesColumns int64    `json:"occurrences_columns"`
}

type columnJSON struct {
	WorkbookIndex    int64    `json:"workbook_index"`
	WorkbookName     *string  `json:"workbook_name"`
	SheetIndex       int64    `json:"sheet_index"`
	SheetName        *string  `json:"sheet_name"`
	TableIndex       int64    `json:"table_index"`
	ColumnIndex      int64    `json:"column_index"`
	HeaderRaw        *string  `json:"header_raw"`
	HeaderNormalized *string  `json:"header_normalized"`
	NonEmptyCells    int64    `json:"non_empty_cells"`
	MappingStatus    string   `json:"mapping_status"`
	MappedField      *string  `json:"mapped_field"`
	MappingScore     *float64 `json:"mapping_score"`
	MappingMethod    *string  `json:"mapping_method"`
	UnmappedReason   *string  `json:"unmapped_reason"`
}

func metricsParams(runID string, m *results.Metrics) db.InsertRunMetricsParams {
	return db.InsertRunMetricsParams{
		RunID:                     runID,
		EvaluationOutcome:         str(m.EvaluationOutcome),
		EvaluationFindingsTotal:   i64(m.EvaluationFindingsTotal),
		EvaluationFindingsInfo:    i64(m.EvaluationFindingsInfo),
		EvaluationFindingsWarning: i64(m.EvaluationFindingsWarning),
		EvaluationFindingsError:   i64(m.EvaluationFindingsError),
		ValidationIssuesTotal:     i64(m.ValidationIssuesTotal),
		ValidationIssuesInfo:      i64(m.ValidationIssuesInfo),
		ValidationIssuesWarning:   i64(m.ValidationIssuesWarning),
		ValidationIssuesError:     i64(m.ValidationIssuesError),
		ValidationMaxSeverity:     str(m.ValidationMaxSeverity),
		WorkbookCount:             i64(m.WorkbookCount),
		SheetCount:                i64(m.SheetCount),
		TableCount:                i64(m.TableCount),
		RowCountTotal:             i64(m.RowCountTotal),
		RowCountEmpty:             i64(m.RowCountEmpty),
		ColumnCountTotal:          i64(m.ColumnCountTotal),
		ColumnCountEmpty:          i64(m.ColumnCountEmpty),
		ColumnCountMapped:         i64(m.ColumnCountMapped),
		ColumnCountUnmapped:       i64(m.ColumnCountUnmapped),
		FieldCountExpected:        i64(m.FieldCountExpected),
		FieldCountDetected:        i64(m.FieldCountDetected),
		FieldCountNotDetected:     i64(m.FieldCountNotDetected),
		CellCountTotal:            i64(m.CellCountTotal),
		CellCountNonEmpty:         i64(m.CellCountNonEmpty),
	}
}

func str(p *string) sql.NullString {
	if p == nil {
		return sql.NullString{}
	}
	return sql.NullString{String: *p, Valid: true}
}

func i64(p *int64) sql.NullInt64 {
	if p == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: *p, Valid: true}
}
