-- queued_run_keys walks from each queued key to the next through runs by
-- primary key (see 00002). Its joins said nothing about their order, and
-- once ANALYZE has given the planner statistics (the API or an operator may
-- run it; the worker does not), the planner read every row of runs and
-- probed the walk's rows through an automatic index instead: for
-- EnsureEnvironments, a scan of every run ever made, each time the worker's
-- upkeep ran. CROSS JOIN is SQLite's way of fixing the order as written:
-- the walk's few rows outside, each looking its run up by id.
-- (TestSQLitePlansSeekTheirIndexes checks the plan with statistics and
-- without.)

-- +goose Up
DROP VIEW queued_run_keys;
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
    CROSS JOIN runs AS c ON c.id = k.rid
)
SELECT c.workspace_id, c.configuration_id, c.engine_spec, c.deps_digest
FROM queued_key AS k
CROSS JOIN runs AS c ON c.id = k.rid;
-- +goose StatementEnd

-- +goose Down
DROP VIEW queued_run_keys;
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
