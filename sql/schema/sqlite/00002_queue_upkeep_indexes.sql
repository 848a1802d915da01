-- Indexes that let the worker's periodic queue upkeep seek instead of
-- reading every queued run (SQLite dialect).

-- +goose Up
-- ix_runs_env_key led with the environment key, so the distinct keys of
-- queued runs could only be found by reading every run. Led by status, the
-- keys of queued runs are a loose index scan (EnsureEnvironments: one seek
-- per distinct key), and created_at as the last key column makes "queued
-- before or after the environment failed" a range (FailRunsOfFailedEnvironments,
-- RetryFailedEnvironments). GC's "no live run" check seeks it per status.
-- Same columns as before plus created_at, which never changes: a status
-- change still moves one entry.
DROP INDEX ix_runs_env_key;
CREATE INDEX ix_runs_status_key ON runs (status, workspace_id, configuration_id, engine_spec, deps_digest, created_at);
-- FailExhaustedRuns: queued runs that can never be claimed. The worker never
-- makes one (only a row written by hand or by the API can be), so this index
-- is normally empty and a status change does not write it. status leads
-- the key, constant as it is, so the planner prefers this index to
-- ix_runs_claim, which answers the same status = 'queued' seek.
CREATE INDEX ix_runs_exhausted ON runs (status, available_at, created_at)
    WHERE status = 'queued' AND attempt_count >= max_attempts;
-- ListExpiredRunArtifacts pages through terminal runs in (completed_at, id)
-- order. ix_runs_completed led with status, so the two terminal statuses were
-- two ranges that every page merged by sorting every expired run after the
-- page's start. Keyed (completed_at, id) and holding only runs that have a
-- completed_at (terminal runs), each page is one range seek that stops after
-- 500 entries (status and workspace_id make it covering). Queued and running
-- runs have no completed_at, so enqueue and claim no longer write this index;
-- an ack inserts one entry.
DROP INDEX ix_runs_completed;
CREATE INDEX ix_runs_completed_id ON runs (completed_at, id, status, workspace_id)
    WHERE completed_at IS NOT NULL;

-- The distinct environment keys of queued runs (EnsureEnvironments), read by
-- a loose index scan of ix_runs_status_key rather than by reading every
-- queued run: queued_key holds the id of the first queued run of each key,
-- and each step seeks the first queued run of the next key, trying one key
-- column at a time from the last. (A row-value comparison, (a, b, c, d) >
-- (...), would read through all of the current key's runs on the way.) So
-- it reads a few index entries per distinct queued key, however many runs
-- each key has. A view because sqlc cannot type a recursive CTE inside an
-- INSERT; SQL Server's EnsureEnvironments does the same walk in a loop.
-- +goose StatementBegin
CREATE VIEW queued_run_keys AS
WITH RECURSIVE queued_key AS (
    SELECT (SELECT f.id FROM runs AS f
            WHERE f.status = 'queued'
            ORDER BY f.workspace_id, f.configuration_id, f.engine_spec, f.deps_digest
            LIMIT 1) AS rid
    UNION ALL
    SELECT COALESCE(
        (SELECT n.id FROM runs AS n
         WHERE n.status = 'queued' AND n.workspace_id = c.workspace_id
           AND n.configuration_id = c.configuration_id AND n.engine_spec = c.engine_spec
           AND n.deps_digest > c.deps_digest
         ORDER BY n.deps_digest
         LIMIT 1),
        (SELECT n.id FROM runs AS n
         WHERE n.status = 'queued' AND n.workspace_id = c.workspace_id
           AND n.configuration_id = c.configuration_id AND n.engine_spec > c.engine_spec
         ORDER BY n.engine_spec, n.deps_digest
         LIMIT 1),
        (SELECT n.id FROM runs AS n
         WHERE n.status = 'queued' AND n.workspace_id = c.workspace_id
           AND n.configuration_id > c.configuration_id
         ORDER BY n.configuration_id, n.engine_spec, n.deps_digest
         LIMIT 1),
        (SELECT n.id FROM runs AS n
         WHERE n.status = 'queued' AND n.workspace_id > c.workspace_id
         ORDER BY n.workspace_id, n.configuration_id, n.engine_spec, n.deps_digest
         LIMIT 1))
    FROM queued_key AS k
    JOIN runs AS c ON c.id = k.rid
)
SELECT c.workspace_id, c.configuration_id, c.engine_spec, c.deps_digest
FROM queued_key AS k
JOIN runs AS c ON c.id = k.rid;
-- +goose StatementEnd

-- +goose Down
DROP VIEW queued_run_keys;
DROP INDEX ix_runs_completed_id;
CREATE INDEX ix_runs_completed ON runs (status, completed_at);
DROP INDEX ix_runs_exhausted;
DROP INDEX ix_runs_status_key;
CREATE INDEX ix_runs_env_key ON runs (workspace_id, configuration_id, engine_spec, deps_digest, status);
