-- want: claim_bare.sql:3: ClaimRun: claim takes no table hints (want WITH (UPDLOCK, READPAST, ROWLOCK, READCOMMITTEDLOCK) on the claimed table); has no ORDER BY (a claim takes the oldest row, not any row); has no OUTPUT ... INTO a table variable (a claim records what it claimed in the statement that claims it)

-- name: ClaimRun :exec
UPDATE TOP (1) runs SET status = N'running', claimed_by = @worker_id WHERE status = N'queued';
