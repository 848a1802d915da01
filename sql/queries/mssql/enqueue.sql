-- T-SQL twins of sql/queries/sqlite/enqueue.sql.

-- name: UpsertConfiguration :exec
-- Update-then-insert under UPDLOCK + SERIALIZABLE: the update range-locks a
-- missing id, so two upserts of one id cannot both insert it (no MERGE).
-- The batch keeps the lock to the insert with a transaction of its own,
-- which nests harmlessly (only @@TRANCOUNT moves) when the caller already
-- runs one. XACT_ABORT makes any error roll the whole batch back, and stays
-- on for the rest of the caller's transaction, which rolls back on any
-- error anyway; a pooled connection's next user gets it reset.
SET XACT_ABORT ON;
BEGIN TRANSACTION;
UPDATE configurations WITH (UPDLOCK, SERIALIZABLE)
SET status = N'active', updated_at = COALESCE(CAST(@now AS DATETIME2), SYSUTCDATETIME())
WHERE id = @id;
IF @@ROWCOUNT = 0
    INSERT INTO configurations (id, workspace_id, status, created_at, updated_at)
    VALUES (@id, @workspace_id, N'active',
            COALESCE(CAST(@now AS DATETIME2), SYSUTCDATETIME()),
            COALESCE(CAST(@now AS DATETIME2), SYSUTCDATETIME()));
COMMIT TRANSACTION;

-- name: SetConfigurationStatus :execrows
UPDATE configurations
SET status = @status,
    updated_at = COALESCE(CAST(@now AS DATETIME2), SYSUTCDATETIME())
WHERE id = @id;

-- name: InsertDocument :exec
INSERT INTO documents (id, workspace_id, original_filename, stored_uri, version, updated_at)
VALUES (@id, @workspace_id, @original_filename, @stored_uri, 1,
        COALESCE(CAST(@now AS DATETIME2), SYSUTCDATETIME()));

-- name: InsertRun :exec
INSERT INTO runs (
    id, workspace_id, configuration_id, input_document_id, input_sheet_names,
    run_options, engine_spec, deps_digest, status, available_at, attempt_count,
    max_attempts, created_at
) VALUES (
    @id, @workspace_id, @configuration_id, @input_document_id, @input_sheet_names,
    @run_options, @engine_spec, @deps_digest, N'queued',
    COALESCE(CAST(@now AS DATETIME2), SYSUTCDATETIME()), 0,
    @max_attempts,
    COALESCE(CAST(@now AS DATETIME2), SYSUTCDATETIME())
);
