-- Test-only: ?1 runs of one environment key in the mix a busy database
-- holds, most of them finished: per 100 runs, 90 succeeded, 4 failed, 4
-- queued and 2 running. Then ANALYZE, so the planner works from statistics
-- of that mix instead of its built-in guesses.
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
INSERT INTO runs (id, workspace_id, configuration_id, input_document_id, engine_spec,
                  deps_digest, status, available_at, attempt_count, max_attempts,
                  claimed_by, claim_expires_at, completed_at, created_at)
SELECT printf('00000000-0000-4000-8000-%012d', i), 'ws', 'cfg', 'doc', 'engine', 'sha256:x',
       CASE WHEN i % 100 < 90 THEN 'succeeded'
            WHEN i % 100 < 94 THEN 'failed'
            WHEN i % 100 < 98 THEN 'queued'
            ELSE 'running' END,
       strftime('%Y-%m-%d %H:%M:%f000', '2026-01-01 00:00:00', '+' || (i / 1000.0) || ' seconds'),
       1, 3,
       CASE WHEN i % 100 >= 98 THEN 'w1' END,
       CASE WHEN i % 100 >= 98 THEN strftime('%Y-%m-%d %H:%M:%f000', '2026-01-02 00:00:00') END,
       CASE WHEN i % 100 < 94 THEN strftime('%Y-%m-%d %H:%M:%f000', '2026-01-01 00:00:00', '+' || (i / 1000.0 + 1) || ' seconds') END,
       strftime('%Y-%m-%d %H:%M:%f000', '2026-01-01 00:00:00', '+' || (i / 1000.0) || ' seconds')
FROM n;
ANALYZE;
