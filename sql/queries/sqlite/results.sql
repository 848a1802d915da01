-- Results of a succeeded run, from its engine.run.completed summary. The
-- worker deletes and inserts them in the transaction that marks the run
-- succeeded, so a retry replaces an earlier attempt's rows.

-- name: DeleteRunMetrics :exec
DELETE FROM run_metrics WHERE run_id = @run_id;

-- name: DeleteRunFields :exec
DELETE FROM run_fields WHERE run_id = @run_id;

-- name: DeleteRunTableColumns :exec
DELETE FROM run_table_columns WHERE run_id = @run_id;

-- name: InsertRunMetrics :exec
INSERT INTO run_metrics (
    run_id, evaluation_outcome,
    evaluation_findings_total, evaluation_findings_info, evaluation_findings_warning, evaluation_findings_error,
    validation_issues_total, validation_issues_info, validation_issues_warning, validation_issues_error,
    validation_max_severity, workbook_count, sheet_count, table_count,
    row_count_total, row_count_empty,
    column_count_total, column_count_empty, column_count_mapped, column_count_unmapped,
    field_count_expected, field_count_detected, field_count_not_detected,
    cell_count_total, cell_count_non_empty
) VALUES (
    @run_id, @evaluation_outcome,
    @evaluation_findings_total, @evaluation_findings_info, @evaluation_findings_warning, @evaluation_findings_error,
    @validation_issues_total, @validation_issues_info, @validation_issues_warning, @validation_issues_error,
    @validation_max_severity, @workbook_count, @sheet_count, @table_count,
    @row_count_total, @row_count_empty,
    @column_count_total, @column_count_empty, @column_count_mapped, @column_count_unmapped,
    @field_count_expected, @field_count_detected, @field_count_not_detected,
    @cell_count_total, @cell_count_non_empty
);

-- name: InsertRunFields :exec
-- @fields is a JSON array of objects keyed by column name: one statement for
-- any number of fields, far under any parameter limit. jsonb_each hands each
-- object over in SQLite's binary form, so the ->> lookups do not parse its
-- text again once per column (twice as fast as json_each).
INSERT INTO run_fields (
    run_id, field, label, detected, best_mapping_score, occurrences_tables, occurrences_columns
)
SELECT @run_id,
       j.value ->> '$.field',
       j.value ->> '$.label',
       j.value ->> '$.detected',
       j.value ->> '$.best_mapping_score',
       j.value ->> '$.occurrences_tables',
       j.value ->> '$.occurrences_columns'
FROM jsonb_each(CAST(@fields AS TEXT)) AS j;

-- name: InsertRunTableColumns :exec
-- @columns is a JSON array of objects keyed by column name (read with
-- jsonb_each, as above); the worker sends it in chunks so one statement never
-- locks more than a chunk of rows.
INSERT INTO run_table_columns (
    run_id, workbook_index, workbook_name, sheet_index, sheet_name, table_index,
    column_index, header_raw, header_normalized, non_empty_cells, mapping_status,
    mapped_field, mapping_score, mapping_method, unmapped_reason
)
SELECT @run_id,
       j.value ->> '$.workbook_index',
       j.value ->> '$.workbook_name',
       j.value ->> '$.sheet_index',
       j.value ->> '$.sheet_name',
       j.value ->> '$.table_index',
       j.value ->> '$.column_index',
       j.value ->> '$.header_raw',
       j.value ->> '$.header_normalized',
       j.value ->> '$.non_empty_cells',
       j.value ->> '$.mapping_status',
       j.value ->> '$.mapped_field',
       j.value ->> '$.mapping_score',
       j.value ->> '$.mapping_method',
       j.value ->> '$.unmapped_reason'
FROM jsonb_each(CAST(@columns AS TEXT)) AS j;

-- name: GetRunMetrics :one
SELECT run_id, evaluation_outcome,
       evaluation_findings_total, evaluation_findings_info, evaluation_findings_warning, evaluation_findings_error,
       validation_issues_total, validation_issues_info, validation_issues_warning, validation_issues_error,
       validation_max_severity, workbook_count, sheet_count, table_count,
       row_count_total, row_count_empty,
       column_count_total, column_count_empty, column_count_mapped, column_count_unmapped,
       field_count_expected, field_count_detected, field_count_not_detected,
       cell_count_total, cell_count_non_empty
FROM run_metrics
WHERE run_id = @run_id;

-- name: ListRunFields :many
SELECT run_id, field, label, detected, best_mapping_score, occurrences_tables, occurrences_columns
FROM run_fields
WHERE run_id = @run_id
ORDER BY field;

-- name: ListRunTableColumns :many
SELECT run_id, workbook_index, workbook_name, sheet_index, sheet_name, table_index,
       column_index, header_raw, header_normalized, non_empty_cells, mapping_status,
       mapped_field, mapping_score, mapping_method, unmapped_reason
FROM run_table_columns
WHERE run_id = @run_id
ORDER BY workbook_index, sheet_index, table_index, column_index;
