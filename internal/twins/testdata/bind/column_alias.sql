-- Names compare case-insensitively and an alias renames a column: no error.

-- name: ListDueRuns :many
SELECT TOP (@max_rows) r.ID, r.workspace_id AS Workspace_Id, DATEADD(SECOND, 0, r.available_at) AS available_at
FROM runs AS r
WHERE r.workspace_id = @workspace_id AND r.available_at <= CAST(@due_before AS DATETIME2)
ORDER BY r.available_at, r.id;
