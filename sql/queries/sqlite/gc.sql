-- Garbage collection: safe by default, enabled on exactly one worker.

-- name: ListGCEnvironments :many
-- Environments that may be deleted: configuration not active, ready or
-- failed, cold for the TTL, no live lease, and no queued or running run
-- with their key.
SELECT e.id, e.workspace_id, e.configuration_id, e.deps_digest, e.status
FROM environments AS e
WHERE e.status IN ('ready', 'failed')
  AND COALESCE(e.last_used_at, e.updated_at) < strftime('%Y-%m-%d %H:%M:%f000',
        COALESCE(sqlc.narg(now), 'now'), '-' || CAST(@ttl_days AS REAL) || ' days')
  AND (e.claim_expires_at IS NULL
       OR e.claim_expires_at < strftime('%Y-%m-%d %H:%M:%f000', COALESCE(sqlc.narg(now), 'now')))
  AND NOT EXISTS (
      SELECT 1 FROM configurations AS c
      WHERE c.id = e.configuration_id AND c.status = 'active'
  )
  AND NOT EXISTS (
      SELECT 1 FROM runs AS r
      WHERE r.status = 'queued'
        AND r.workspace_id = e.workspace_id
        AND r.configuration_id = e.configuration_id
        AND r.engine_spec = e.engine_spec
        AND r.deps_digest = e.deps_digest
  )
  AND NOT EXISTS (
      SELECT 1 FROM runs AS r
      WHERE r.status = 'running'
        AND r.workspace_id = e.workspace_id
        AND r.configuration_id = e.configuration_id
        AND r.engine_spec = e.engine_spec
        AND r.deps_digest = e.deps_digest
  )
ORDER BY e.id
LIMIT 100;

-- name: DeleteGCEnvironment :execrows
-- Deletes the row only if every GC rule still holds now; the folder is
-- already gone, and an environment that became needed again stays (its
-- next run sees the missing interpreter and rebuilds it).
DELETE FROM environments
WHERE environments.id = @id
  AND environments.status IN ('ready', 'failed')
  AND COALESCE(environments.last_used_at, environments.updated_at) < strftime('%Y-%m-%d %H:%M:%f000',
        COALESCE(sqlc.narg(now), 'now'), '-' || CAST(@ttl_days AS REAL) || ' days')
  AND (environments.claim_expires_at IS NULL
       OR environments.claim_expires_at < strftime('%Y-%m-%d %H:%M:%f000', COALESCE(sqlc.narg(now), 'now')))
  AND NOT EXISTS (
      SELECT 1 FROM configurations AS c
      WHERE c.id = environments.configuration_id AND c.status = 'active'
  )
  AND NOT EXISTS (
      SELECT 1 FROM runs AS r
      WHERE r.status = 'queued'
        AND r.workspace_id = environments.workspace_id
        AND r.configuration_id = environments.configuration_id
        AND r.engine_spec = environments.engine_spec
        AND r.deps_digest = environments.deps_digest
  )
  AND NOT EXISTS (
      SELECT 1 FROM runs AS r
      WHERE r.status = 'running'
        AND r.workspace_id = environments.workspace_id
        AND r.configuration_id = environments.configuration_id
        AND r.engine_spec = environments.engine_spec
        AND r.deps_digest = environments.deps_digest
  );

-- name: ListExpiredRunArtifacts :many
-- Terminal runs completed before the artifact TTL, oldest first, one page
-- after the (completed_at, id) of the previous page. The second condition
-- is implied by the third; stated alone it starts the range seek of
-- ix_runs_completed_id at the page's start, so a page reads its 500 entries
-- and not every expired run before or after them. (Unary + keeps SQLite from
-- seeking the status list instead, which would sort every expired run.)
-- @after_completed_at is a timestamp (dbtime), so the cursor keeps the
-- instant as the database gave it: on SQL Server, all seven decimals.
SELECT id, workspace_id, completed_at
FROM runs
WHERE completed_at < strftime('%Y-%m-%d %H:%M:%f000',
        COALESCE(sqlc.narg(now), 'now'), '-' || CAST(@ttl_days AS REAL) || ' days')
  AND completed_at >= @after_completed_at
  AND (completed_at > @after_completed_at
       OR (completed_at = @after_completed_at AND id > CAST(@after_id AS TEXT)))
  AND +status IN ('succeeded', 'failed') -- unary +: checked in the index, not a range
ORDER BY completed_at, id
LIMIT 500;
