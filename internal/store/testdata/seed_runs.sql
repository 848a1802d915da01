-- Test-only: ?1 queued runs of one ready environment key, created 1 ms apart,
-- for claim benchmarks at large queue depths.
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
INSERT INTO runs (id, workspace_id, configuration_id, input_document_id, engine_spec,
                  deps_digest, status, available_at, attempt_count, max_attempts, created_at)
SELECT printf('00000000-0000-4000-8000-%012d', i), 'ws', 'cfg', 'doc', 'engine', 'sha256:x',
       'queued',
       strftime('%Y-%m-%d %H:%M:%f000', '2026-01-01 00:00:00', '+' || (i / 1000.0) || ' seconds'),
       0, 3,
       strftime('%Y-%m-%d %H:%M:%f000', '2026-01-01 00:00:00', '+' || (i / 1000.0) || ' seconds')
FROM n;
