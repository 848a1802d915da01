-- Test-only: ?1 runs of one environment key, in the mix of statuses a
-- database may hold: per 100 runs, ?2 finished (every twentieth of them
-- failed, the others succeeded), 2 running (leases far from expiry) and the
-- rest queued. Then ANALYZE, so the planner works from statistics of that
-- mix instead of its built-in guesses.
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1),
mix(i, status) AS (
    SELECT i, CASE WHEN i % 100 < ?2 THEN CASE WHEN i % 20 = 0 THEN 'failed' ELSE 'succeeded' END
                   WHEN i % 100 < ?2 + 2 THEN 'running'
                   ELSE 'queued' END
    FROM n
)
INSERT INTO runs (id, workspace_id, configuration_id, input_document_id, engine_spec,
                  deps_digest, status, available_at, attempt_count, max_attempts,
                  claimed_by, claim_expires_at, completed_at, created_at)
SELECT printf('00000000-0000-4000-8000-%012d', i), 'ws', 'cfg', 'doc', 'engine', 'sha256:x',
       status,
       strftime('%Y-%m-%d %H:%M:%f000', '2026-01-01 00:00:00', '+' || (i / 1000.0) || ' seconds'),
       1, 3,
       CASE WHEN status = 'running' THEN 'w1' END,
       CASE WHEN status = 'running' THEN strftime('%Y-%m-%d %H:%M:%f000', '2099-01-01 00:00:00') END,
       CASE WHEN status IN ('succeeded', 'failed')
            THEN strftime('%Y-%m-%d %H:%M:%f000', '2026-01-01 00:00:00', '+' || (i / 1000.0 + 1) || ' seconds') END,
       strftime('%Y-%m-%d %H:%M:%f000', '2026-01-01 00:00:00', '+' || (i / 1000.0) || ' seconds')
FROM mix;
ANALYZE;
