-- Indexes that let the worker's periodic queue upkeep seek instead of
-- reading every queued run (T-SQL dialect).
--
-- Built online where SQL Server can (Enterprise and Developer editions,
-- Azure SQL), outside goose's transaction: an index build inside a
-- transaction, or an offline one, holds a lock on runs that stops the API's
-- inserts for the whole build. The new index is built first and the old one
-- dropped after it, so the queries it serves never lack an index. Without
-- the transaction, a migration cut short is run again from the top: a step
-- already done is passed over (errors 1913, the index exists, and 3701, the
-- index is gone).
--
-- This file changed after it was first released (it used to drop the old
-- index and build the new one offline, in goose's transaction). The schema
-- it leaves is the same, and goose never runs an applied migration again:
-- databases that have it keep what they have, and only a database migrating
-- from version 1 builds the index the new way.
--
-- Editions without online index builds (Standard, Express, Web) build it
-- offline (error 1712 says so): the API's writes to runs wait for the build
-- then, as they did before. On a large runs table there, migrate in a quiet
-- moment.

-- +goose NO TRANSACTION
-- +goose Up
-- ix_runs_env_key led with the environment key, so the distinct keys of
-- queued runs could only be found by reading every queued run. Led by
-- status, the keys of queued runs are a loose index scan (EnsureEnvironments:
-- a few seeks per distinct key), and created_at as the last key column makes
-- "queued before or after the environment failed" a range
-- (FailRunsOfFailedEnvironments, RetryFailedEnvironments). GC's "no live
-- run" check seeks it per status. Same columns as before plus created_at,
-- which never changes: a status change still moves one entry.
-- No filtered index here, though SQLite's migration has partial ones: a
-- filtered index makes every session that writes runs need ANSI_NULLS,
-- QUOTED_IDENTIFIER and the related SET options ON (error 1934 otherwise),
-- and the ADE API and operators' scripts (sqlcmd defaults QUOTED_IDENTIFIER
-- to OFF) write this table too.
-- +goose StatementBegin
BEGIN TRY
    CREATE INDEX ix_runs_status_key ON runs (status, workspace_id, configuration_id, engine_spec, deps_digest, created_at)
        WITH (ONLINE = ON);
END TRY
BEGIN CATCH
    IF ERROR_NUMBER() = 1712
    BEGIN
        BEGIN TRY
            CREATE INDEX ix_runs_status_key ON runs (status, workspace_id, configuration_id, engine_spec, deps_digest, created_at);
        END TRY
        BEGIN CATCH
            IF ERROR_NUMBER() <> 1913
                THROW;
        END CATCH;
    END
    ELSE IF ERROR_NUMBER() <> 1913
        THROW;
END CATCH;
-- +goose StatementEnd

-- +goose StatementBegin
BEGIN TRY
    DROP INDEX ix_runs_env_key ON runs;
END TRY
BEGIN CATCH
    IF ERROR_NUMBER() <> 3701
        THROW;
END CATCH;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
BEGIN TRY
    CREATE INDEX ix_runs_env_key ON runs (workspace_id, configuration_id, engine_spec, deps_digest, status)
        WITH (ONLINE = ON);
END TRY
BEGIN CATCH
    IF ERROR_NUMBER() = 1712
    BEGIN
        BEGIN TRY
            CREATE INDEX ix_runs_env_key ON runs (workspace_id, configuration_id, engine_spec, deps_digest, status);
        END TRY
        BEGIN CATCH
            IF ERROR_NUMBER() <> 1913
                THROW;
        END CATCH;
    END
    ELSE IF ERROR_NUMBER() <> 1913
        THROW;
END CATCH;
-- +goose StatementEnd

-- +goose StatementBegin
BEGIN TRY
    DROP INDEX ix_runs_status_key ON runs;
END TRY
BEGIN CATCH
    IF ERROR_NUMBER() <> 3701
        THROW;
END CATCH;
-- +goose StatementEnd
