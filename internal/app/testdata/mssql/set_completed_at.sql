-- Test-only: a run succeeded at exactly @completed_at, whose text may carry
-- the seven decimals of a DATETIME2 that SYSUTCDATETIME() writes.
UPDATE runs
SET status = N'succeeded', completed_at = CAST(@completed_at AS DATETIME2), claimed_by = NULL, claim_expires_at = NULL
WHERE id = @id;
