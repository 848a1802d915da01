-- T-SQL twins of sql/queries/sqlite/gc.sql.

-- name: ListGCEnvironments :many
SELECT TOP (100) e.id, e.workspace_id, e.configuration_id, e.deps_digest, e.status
FROM environments AS e
WHERE e.status IN (N'ready', N'failed')
  AND COALESCE(e.last_used_at, e.updated_at) <
      DATEADD(SECOND, -CAST(ROUND((@ttl_days - FLOOR(@ttl_days)) * 86400, 0) AS INT),
          DATEADD(DAY, -CAST(FLOOR(@ttl_days) AS INT), COALESCE(CAST(@now AS DATETIME2), SYSUTCDATETIME())))
  AND (e.claim_expires_at IS NULL
       OR e.claim_expires_at < COALESCE(CAST(@now AS DATETIME2), SYSUTCDATETIME()))
  AND NOT EXISTS (
      SELECT 1 FROM configurations AS c
      WHERE c.id = e.configuration_id AND c.status = N'active'
  )
  AND NOT EXISTS (
      SELECT 1 FROM runs AS r
      WHERE r.workspace_id = e.workspace_id
        AND r.configuration_id = e.configuration_id
        AND r.engine_spec = e.engine_spec
        AND r.deps_digest = e.deps_digest
        AND r.status IN (N'queued', N'running')
  )
ORDER BY e.id;

-- name: DeleteGCEnvironment :execrows
DELETE e
FROM environments AS e
WHERE e.id = @id
  AND e.status IN (N'ready', N'failed')
  AND COALESCE(e.last_used_at, e.updated_at) <
      DATEADD(SECOND, -CAST(ROUND((@ttl_days - FLOOR(@ttl_days)) * 86400, 0) AS INT),
          DATEADD(DAY, -CAST(FLOOR(@ttl_days) AS INT), COALESCE(CAST(@now AS DATETIME2), SYSUTCDATETIME())))
  AND (e.claim_expires_at IS NULL
       OR e.claim_expires_at < COALESCE(CAST(@now AS DATETIME2), SYSUTCDATETIME()))
  AND NOT EXISTS (
      SELECT 1 FROM configurations AS c
      WHERE c.id = e.configuration_id AND c.status = N'active'
  )
  AND NOT EXISTS (
      SELECT 1 FROM runs AS r
      WHERE r.workspace_id = e.workspace_id
        AND r.configuration_id = e.configuration_id
        AND r.engine_spec = e.engine_spec
        AND r.deps_digest = e.deps_digest
        AND r.status IN (N'queued', N'running')
  );

-- name: ListExpiredRunArtifacts :many
-- The lower bound, implied by the keyset condition below, starts the range
-- seek of ix_runs_completed (completed_at, id) at the page's start; runs
-- without a completed_at are not in the range.
SELECT TOP (500) id, workspace_id, completed_at
FROM runs
WHERE completed_at IS NOT NULL
  AND completed_at >= CAST(@after_completed_at AS DATETIME2)
  AND status IN (N'succeeded', N'failed')
  AND completed_at <
      DATEADD(SECOND, -CAST(ROUND((@ttl_days - FLOOR(@ttl_days)) * 86400, 0) AS INT),
          DATEADD(DAY, -CAST(FLOOR(@ttl_days) AS INT), COALESCE(CAST(@now AS DATETIME2), SYSUTCDATETIME())))
  AND (completed_at > CAST(@after_completed_at AS DATETIME2)
       OR (completed_at = CAST(@after_completed_at AS DATETIME2) AND id > @after_id))
ORDER BY completed_at, id;
