-- OUTPUT without INTO returns the rows to the client, which SQL Server
-- refuses (error 334) once someone adds a trigger to the table.
-- want: claim_output_bare.sql:5: ClaimRun: claim uses OUTPUT without INTO (refused, error 334, on a table with a trigger): write OUTPUT ... INTO a table variable and SELECT from it

-- name: ClaimRun :one
WITH next AS (
    SELECT TOP (1) r.id
    FROM runs AS r WITH (UPDLOCK, READPAST, ROWLOCK, READCOMMITTEDLOCK)
    WHERE r.status = N'queued'
    ORDER BY r.available_at, r.created_at
)
UPDATE runs SET status = N'running', claimed_by = @worker_id
OUTPUT inserted.id
FROM runs JOIN next ON next.id = runs.id;
