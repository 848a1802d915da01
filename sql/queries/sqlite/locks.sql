-- Serializing schema migrations across workers that start together.

-- name: AcquireMigrationLock :exec
-- SQLite has no lock manager to ask: goose runs each migration in a write
-- transaction, which already serializes concurrent migrators, so this only
-- checks the timeout is a number. SQL Server takes an application lock.
SELECT CAST(@timeout_ms AS INTEGER);

-- name: ReleaseMigrationLock :exec
SELECT 1;
