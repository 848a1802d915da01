-- Test-only: the live suite's lock. Each live test holds it, session-owned,
-- from before it empties the tables until it ends, so test packages that
-- `go test ./...` runs in parallel take turns on the one test database
-- instead of emptying it under each other. @p1 is the wait in milliseconds.
DECLARE @result INT;
EXEC @result = sp_getapplock
    @Resource = N'ade-worker:live-suite',
    @LockMode = N'Exclusive',
    @LockOwner = N'Session',
    @LockTimeout = @p1;
IF @result < 0
    THROW 50002, N'could not take the live suite lock (sp_getapplock)', 1;
