-- Test-only, inside a transaction the test holds open: an exclusive lock on
-- the environment @p1 (an update that changes nothing), and this session's
-- id, which the sessions it blocks name as their blocker.
UPDATE environments SET updated_at = updated_at WHERE id = @p1;
SELECT @@SPID AS spid;
