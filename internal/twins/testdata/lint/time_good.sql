-- Every use of a time parameter is cast; locals and other parameters are
-- free, and so is text that only looks like a use.

-- name: ExpireRunLeases :many
DECLARE @cutoff DATETIME2 = COALESCE(CAST(@now AS DATETIME2), SYSUTCDATETIME());
UPDATE TOP (@max_rows) runs
SET status = N'queued', claimed_by = NULL -- not @now
OUTPUT inserted.id
WHERE status = N'running'
  AND claim_expires_at < @cutoff
  AND created_at >= CAST(@created_after AS DATETIME2(7))
  AND N'@started_at' <> N'';
