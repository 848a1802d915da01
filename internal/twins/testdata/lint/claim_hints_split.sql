-- The four hints belong on one table reference; spread over two they protect
-- neither.
-- want: claim_hints_split.sql:5: ClaimRun: claim lacks table hint READPAST, READCOMMITTEDLOCK (want all of UPDLOCK, READPAST, ROWLOCK, READCOMMITTEDLOCK on the claimed table)

-- name: ClaimRun :one
DECLARE @claimed TABLE (id NVARCHAR(36) NOT NULL);
WITH next AS (
    SELECT TOP (1) r.id
    FROM runs AS r WITH (UPDLOCK, ROWLOCK)
    JOIN environments AS e WITH (READPAST, READCOMMITTEDLOCK) ON e.id = r.id
    ORDER BY r.available_at
)
UPDATE runs SET status = N'running', claimed_by = @worker_id
OUTPUT inserted.id INTO @claimed
FROM runs JOIN next ON next.id = runs.id;
SELECT id FROM @claimed;
