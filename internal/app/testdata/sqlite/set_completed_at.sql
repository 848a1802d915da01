-- Test-only: a run succeeded at exactly @completed_at (text in the fixed
-- width form).
UPDATE runs
SET status = 'succeeded', completed_at = @completed_at, claimed_by = NULL, claim_expires_at = NULL
WHERE id = @id;
