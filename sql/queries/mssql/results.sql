-- T-SQL twins of sql/queries/sqlite/results.sql.

-- name: DeleteRunMetrics :exec
DELETE FROM run_metrics WHERE run_id = @run_id;

-- name: DeleteRunFields :exec
-- In batches below the lock-escalation threshold (5,000 locks), so replacing
-- one run's results never takes a table lock other workers would wait on.
DECLARE @deleted INT = 1;
WHILE @deleted > 0
BEGIN
    DELETE TOP (4000) FROM run_fields WHERE run_id = @run_id;
    SET @deleted = @@ROWCOUNT;
END;

-- name: DeleteRunTableColumns :exec
DECLARE @deleted INT = 1;
WHILE @deleted > 0
BEGIN
    DELETE TOP (4000) FROM run_table_columns WHERE run_id = @run_id;
    SET @deleted = @@ROWCOUNT;
END;

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
-- One NVARCHAR(MAX) JSON parameter carries every row: far under the
-- 2,100-parameter limit at any size (OPENJSON needs compatibility level 130+).
-- The WITH types are the table's: OPENJSON cuts a longer string silently.
-- (The worker never sends a longer one: internal/results leaves it out.)
INSERT INTO run_fields (
    run_id, field, label, detected, best_mapping_score, occurrences_tables, occurrences_columns
)
SELECT @run_id, j.field, j.label, j.detected, j.best_mapping_score,
       j.occurrences_tables, j.occurrences_columns
FROM OPENJSON(@fields) WITH (
    field               NVARCHAR(400)  '$.field',
    label               NVARCHAR(4000) '$.label',
    detected            BIT            '$.detected',
    best_mapping_score  FLOAT          '$.best_mapping_score',
    occurrences_tables  BIGINT         '$.occurrences_tables',
    occurrences_columns BIGINT         '$.occurrences_columns'
) AS j;

-- name: InsertRunTableColumns :exec
INSERT INTO run_table_columns (
    run_id, workbook_index, workbook_name, sheet_index, sheet_name, table_index,
    column_index, header_raw, header_normalized, non_empty_cells, mapping_status,
    mapped_field, mapping_score, mapping_method, unmapped_reason
)
SELECT @run_id, j.workbook_index, j.workbook_name, j.sheet_index, j.sheet_name, j.table_index,
       j.column_index, j.header_raw, j.header_normalized, j.non_empty_cells, j.mapping_status,
       j.mapped_field, j.mapping_score, j.mapping_method, j.unmapped_reason
FROM OPENJSON(@columns) WITH (
    workbook_index    BIGINT         '$.workbook_index',
    workbook_name     NVARCHAR(4000) '$.workbook_name',
    sheet_index       BIGINT         '$.sheet_index',
    sheet_name        NVARCHAR(4000) '$.sheet_name',
    table_index       BIGINT         '$.table_index',
    column_index      BIGINT         '$.column_index',
    header_raw        NVARCHAR(MAX)  '$.header_raw',
    header_normalized NVARCHAR(MAX)  '$.header_normalized',
    non_empty_cells   BIGINT         '$.non_empty_cells',
    mapping_status    NVARCHAR(20)   '$.mapping_status',
    mapped_field      NVARCHAR(400)  '$.mapped_field',
    mapping_score     FLOAT          '$.mapping_score',
    mapping_method    NVARCHAR(4000) '$.mapping_method',
    unmapped_reason   NVARCHAR(4000) '$.unmapped_reason'
) AS j;

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
