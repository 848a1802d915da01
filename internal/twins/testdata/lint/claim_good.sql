-- The claim shape of the design: hints on the picked table, ORDER BY, OUTPUT
-- INTO a table variable that a final SELECT returns.

-- name: ClaimEnvironment :one
DECLARE @claimed TABLE (id NVARCHAR(36) NOT NULL, workspace_id NVARCHAR(36) NOT NULL);
UPDATE t
SET status = N'building', claimed_by = @worker_id
OUTPUT inserted.id, inserted.workspace_id INTO @claimed
FROM environments AS t
JOIN (
    SELECT TOP (1) e.id
    FROM environments AS e WITH (UPDLOCK, READPAST, ROWLOCK, READCOMMITTEDLOCK)
    WHERE e.status = N'queued'
    ORDER BY e.available_at, e.created_at
) AS next ON next.id = t.id
WHERE t.status = N'queued';
SELECT id, workspace_id FROM @claimed;
