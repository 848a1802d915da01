-- T-SQL twins of sql/queries/sqlite/locks.sql.

-- name: AcquireMigrationLock :exec
-- A session-owned application lock, taken on the connection goose then runs
-- every migration on (each in its own transaction): five workers starting
-- together with ADE_WORKER_AUTO_CREATE_SCHEMA=1 queue here and migrate once.
-- If the session ends, SQL Server drops the lock and rolls back the open
-- migration together, so no two migrators ever overlap.
DECLARE @result INT;
EXEC @result = sp_getapplock
    @Resource = N'ade-worker:migrate',
    @LockMode = N'Exclusive',
    @LockOwner = N'Session',
    @LockTimeout = @timeout_ms;
IF @result < 0
    THROW 50001, N'could not take the ade-worker migration lock (sp_getapplock)', 1;

-- name: ReleaseMigrationLock :exec
EXEC sp_releaseapplock @Resource = N'ade-worker:migrate', @LockOwner = N'Session';
