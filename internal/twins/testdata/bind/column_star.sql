-- want: column_star.sql:5: ClaimRun: result column 1 is a *: list the columns so they can be checked against the 3 the generated method scans

-- name: ClaimRun :one
UPDATE TOP (1) runs SET claimed_by = @worker_id, claim_expires_at = DATEADD(SECOND, @lease_seconds, CAST(@now AS DATETIME2))
OUTPUT inserted.*
WHERE status = N'queued';
