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
-- FailExhaustedRuns: queued runs with attempt_count >= max_attempts. A
-- filtered index compares a column with a constant only, so the condition is
-- covered by the two cases that can hold it: a run already tried
-- (attempt_count > 0: retries waiting out their backoff) or one that may
-- never be tried (max_attempts <= 0, which the worker never writes). A run
-- on its first attempt, the normal path, is in neither, so enqueue, claim and
-- ack do not write them.
CREATE INDEX ix_runs_queued_retry ON runs (available_at, created_at)
    INCLUDE (attempt_count, max_attempts)
    WHERE status = N'queued' AND attempt_count > 0;
CREATE INDEX ix_runs_queued_no_attempts ON runs (available_at, created_at)
    INCLUDE (attempt_count, max_attempts)
    WHERE status = N'queued' AND max_attempts <= 0;
-- ListExpiredRunArtifacts: ix_runs_completed, filtered to the runs that
-- have a completed_at (terminal runs). Unfiltered, every queued and running
-- run had an entry whose included status every claim rewrote; filtered,
-- enqueue and claim do not write it and an ack inserts one entry.
DROP INDEX ix_runs_completed ON runs;
CREATE INDEX ix_runs_completed ON runs (completed_at, id)
    INCLUDE (status, workspace_id)
    WHERE completed_at IS NOT NULL;

-- +goose Down
DROP INDEX ix_runs_completed ON runs;
CREATE INDEX ix_runs_completed ON runs (completed_at, id) INCLUDE (status, workspace_id);
DROP INDEX ix_runs_queued_no_attempts ON runs;
DROP INDEX ix_runs_queued_retry ON runs;
DROP INDEX ix_runs_status_key ON runs;
CREATE INDEX ix_runs_env_key ON runs (workspace_id, configuration_id, engine_spec, deps_digest, status);
