-- Test-only, inside a transaction the test holds open: lock the environment
-- @p1 so that an update of it waits, while reads of it (a claim's EXISTS)
-- go on. SQL Server: an update lock, which shared locks pass. Babelfish
-- ignores table hints, but PostgreSQL's row lock from an update blocks only
-- writers.
IF @@VERSION LIKE N'Babelfish%'
    UPDATE environments SET last_used_at = last_used_at WHERE id = @p1;
ELSE
    SELECT id FROM environments WITH (UPDLOCK, ROWLOCK, HOLDLOCK) WHERE id = @p1;
