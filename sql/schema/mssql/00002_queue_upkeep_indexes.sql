-- Indexes that let the worker's periodic queue upkeep seek instead of
-- reading every queued run (T-SQL dialect).

-- +goose Up
-- ix_runs_env_key led with the environment key, so the distinct keys of
-- queued runs could only be found by reading every queued run. Led by
-- status, the keys of queued runs are a loose index scan (EnsureEnvironments:
-- a few seeks per distinct key), and created_at as the last key column makes
-- "queued before or after the environment failed" a range
-- (FailRunsOfFailedEnvironments, RetryFailedEnvironments). GC's "no live
-- run" check seeks it per status. Same columns as before plus created_at,
-- which never changes: a status change still moves one entry.
DROP INDEX ix_runs_env_key ON runs;
CREATE INDEX ix_runs_status_key ON runs (status, workspace_id, configuration_id, engine_spec, deps_digest, created_at);
-- No filtered index here, though SQLite's migration has partial ones: a
-- filtered index makes every session that writes runs need ANSI_NULLS,
-- QUOTED_IDENTIFIER and the related SET options ON (error 1934 otherwise),
-- and the ADE API and operators' scripts (sqlcmd defaults QUOTED_IDENTIFIER
-- to OFF) write this table too.

-- +goose Down
DROP INDEX ix_runs_status_key ON runs;
CREATE INDEX ix_runs_env_key ON runs (workspace_id, configuration_id, engine_spec, deps_digest, status);
