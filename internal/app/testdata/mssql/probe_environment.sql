-- Test-only: update the environment @p1 if no other transaction holds it,
-- giving up after 250 ms (error 1222 on SQL Server) if one does.
SET LOCK_TIMEOUT 250;
UPDATE environments SET last_used_at = last_used_at WHERE id = @p1;
SET LOCK_TIMEOUT -1;
