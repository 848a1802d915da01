-- The right number of the wrong columns would scan without error.
-- want: column_names.sql:5: ListDueRuns: returns columns (id, workspace_id, created_at) but the generated method scans (id, workspace_id, available_at)

-- name: ListDueRuns :many
SELECT TOP (@max_rows) id, workspace_id, created_at
FROM runs
WHERE workspace_id = @workspace_id AND available_at <= CAST(@due_before AS DATETIME2)
ORDER BY available_at, id;
