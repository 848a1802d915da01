-- Environments: one virtual environment per (workspace, configuration,
-- engine spec, dependency digest). "now" is COALESCE(@now, the database
-- clock): production passes NULL, tests pin an instant. Timestamps are written
-- in the API's fixed-width form so that text order is time order.

-- name: EnsureEnvironments :execrows
-- Create a queued environment for every key that claimable queued runs need
-- and that has no environment yet. A new dependency digest is a new key, so a
-- dependency change never rebuilds an environment in place.
--
-- The keys come from queued_run_keys, a loose index scan (see migration
-- 00002): a few index seeks per distinct queued key, not a read of every
-- queued run.
INSERT INTO environments (
    id, workspace_id, configuration_id, engine_spec, deps_digest,
    status, created_at, updated_at, available_at
)
SELECT
    lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' ||
          substr(hex(randomblob(2)), 2) || '-' ||
          substr('89ab', 1 + (abs(random()) % 4), 1) ||
          substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6))),
    c.workspace_id, c.configuration_id, c.engine_spec, c.deps_digest,
    'queued',
    strftime('%Y-%m-%d %H:%M:%f000', COALESCE(sqlc.narg(now), 'now')),
    strftime('%Y-%m-%d %H:%M:%f000', COALESCE(sqlc.narg(now), 'now')),
    strftime('%Y-%m-%d %H:%M:%f000', COALESCE(sqlc.narg(now), 'now'))
FROM queued_run_keys AS c
WHERE NOT EXISTS (
      SELECT 1 FROM environments AS e
      WHERE e.workspace_id = c.workspace_id
        AND e.configuration_id = c.configuration_id
        AND e.engine_spec = c.engine_spec
        AND e.deps_digest = c.deps_digest
  )
  -- A key whose queued runs have no attempts left needs no environment
  -- (FailExhaustedRuns fails those runs). Usually the first run seeked has
  -- attempts left.
  AND EXISTS (
      SELECT 1 FROM runs AS r
      WHERE r.status = 'queued'
        AND r.workspace_id = c.workspace_id
        AND r.configuration_id = c.configuration_id
        AND r.engine_spec = c.engine_spec
        AND r.deps_digest = c.deps_digest
        AND r.attempt_count < r.max_attempts
  )
ON CONFLICT (workspace_id, configuration_id, engine_spec, deps_digest) DO NOTHING;

-- name: RetryFailedEnvironments :execrows
-- A run queued after its environment failed for good gives that environment
-- one fresh series of build attempts: a fixed index or mirror heals without
-- a manual fix, while a broken package still fails its runs after
-- ADE_WORKER_ENV_BUILD_MAX_ATTEMPTS tries, never rebuilding in a loop.
UPDATE environments
SET status = 'queued',
    attempt_count = 0,
    available_at = strftime('%Y-%m-%d %H:%M:%f000', COALESCE(sqlc.narg(now), 'now')),
    updated_at = strftime('%Y-%m-%d %H:%M:%f000', COALESCE(sqlc.narg(now), 'now'))
WHERE status = 'failed'
  AND EXISTS (
      SELECT 1 FROM runs AS r
      WHERE r.workspace_id = environments.workspace_id
        AND r.configuration_id = environments.configuration_id
        AND r.engine_spec = environments.engine_spec
        AND r.deps_digest = environments.deps_digest
        AND r.status = 'queued'
        AND r.attempt_count < r.max_attempts
        AND r.created_at > environments.updated_at
  );

-- name: ClaimEnvironment :one
-- The oldest due queued environment becomes building under a lease.
UPDATE environments
SET status = 'building',
    claimed_by = @worker_id,
    claim_expires_at = strftime('%Y-%m-%d %H:%M:%f000', COALESCE(sqlc.narg(now), 'now'),
                                '+' || CAST(@lease_seconds AS REAL) || ' seconds'),
    attempt_count = attempt_count + 1,
    error_message = NULL,
    updated_at = strftime('%Y-%m-%d %H:%M:%f000', COALESCE(sqlc.narg(now), 'now'))
WHERE id = (
    SELECT q.id FROM environments AS q
    WHERE q.status = 'queued'
      AND q.available_at <= strftime('%Y-%m-%d %H:%M:%f000', COALESCE(sqlc.narg(now), 'now'))
    ORDER BY q.available_at, q.created_at
    LIMIT 1
)
  AND status = 'queued'
RETURNING id, workspace_id, configuration_id, engine_spec, deps_digest, attempt_count, claim_expires_at;

-- name: HeartbeatEnvironment :execrows
-- Zero rows means the claim was lost.
UPDATE environments
SET claim_expires_at = strftime('%Y-%m-%d %H:%M:%f000', COALESCE(sqlc.narg(now), 'now'),
                                '+' || CAST(@lease_seconds AS REAL) || ' seconds')
WHERE id = @id AND status = 'building' AND claimed_by = @worker_id
  AND attempt_count = @attempt_count;

-- name: MarkEnvironmentReady :execrows
UPDATE environments
SET status = 'ready',
    python_version = @python_version,
    python_interpreter = @python_interpreter,
    engine_version = @engine_version,
    error_message = NULL,
    claim_expires_at = NULL,
    updated_at = strftime('%Y-%m-%d %H:%M:%f000', COALESCE(sqlc.narg(now), 'now'))
WHERE id = @id AND status = 'building' AND claimed_by = @worker_id
  AND attempt_count = @attempt_count;

-- name: FailEnvironmentBuild :one
-- A failed build goes back to queued after a backoff while build attempts
-- remain, else it fails for good (and FailRunsOfFailedEnvironments then fails
-- the runs waiting on it).
UPDATE environments
SET status = CASE WHEN attempt_count < CAST(@max_attempts AS INTEGER) THEN 'queued' ELSE 'failed' END,
    available_at = CASE WHEN attempt_count < CAST(@max_attempts AS INTEGER)
        THEN strftime('%Y-%m-%d %H:%M:%f000', COALESCE(sqlc.narg(now), 'now'), '+' ||
             min(CAST(@backoff_max_seconds AS REAL),
                 CAST(@backoff_base_seconds AS REAL) * (1 << min(max(attempt_count - 1, 0), 30))) || ' seconds')
        ELSE available_at END,
    error_message = @error_message,
    claimed_by = NULL,
    claim_expires_at = NULL,
    updated_at = strftime('%Y-%m-%d %H:%M:%f000', COALESCE(sqlc.narg(now), 'now'))
WHERE id = @id AND status = 'building' AND claimed_by = @worker_id
  AND attempt_count = @attempt_count
RETURNING status, attempt_count, available_at;

-- name: ReleaseEnvironment :execrows
-- Give a build back without spending the attempt (graceful shutdown).
UPDATE environments
SET status = 'queued',
    attempt_count = max(attempt_count - 1, 0),
    claimed_by = NULL,
    claim_expires_at = NULL,
    available_at = strftime('%Y-%m-%d %H:%M:%f000', COALESCE(sqlc.narg(now), 'now')),
    updated_at = strftime('%Y-%m-%d %H:%M:%f000', COALESCE(sqlc.narg(now), 'now'))
WHERE id = @id AND status = 'building' AND claimed_by = @worker_id
  AND attempt_count = @attempt_count;

-- name: ExpireEnvironmentLeases :many
-- A building environment whose worker stopped heartbeating goes back to queued.
UPDATE environments
SET status = 'queued',
    claimed_by = NULL,
    claim_expires_at = NULL,
    error_message = 'lease expired',
    available_at = strftime('%Y-%m-%d %H:%M:%f000', COALESCE(sqlc.narg(now), 'now')),
    updated_at = strftime('%Y-%m-%d %H:%M:%f000', COALESCE(sqlc.narg(now), 'now'))
WHERE id IN (
    SELECT x.id FROM environments AS x
    WHERE x.status = 'building'
      AND x.claim_expires_at < strftime('%Y-%m-%d %H:%M:%f000', COALESCE(sqlc.narg(now), 'now'))
    LIMIT 500
)
  AND status = 'building'
RETURNING id, workspace_id;

-- name: UseEnvironment :one
-- The ready environment of a claimed run's key; marks it used for GC.
UPDATE environments
SET last_used_at = strftime('%Y-%m-%d %H:%M:%f000', COALESCE(sqlc.narg(now), 'now'))
WHERE workspace_id = @workspace_id
  AND configuration_id = @configuration_id
  AND engine_spec = @engine_spec
  AND deps_digest = @deps_digest
  AND status = 'ready'
RETURNING id, python_interpreter, python_version, engine_version, updated_at;

-- name: RequeueEnvironment :execrows
-- A ready environment whose interpreter vanished from disk is rebuilt once:
-- only the first run to notice moves it. The fence is the environment as
-- the run saw it when it was claimed (its updated_at, which every build
-- moves): a later run releasing after the rebuild finds it ready again
-- but not the one it saw, and leaves it alone.
UPDATE environments
SET status = 'queued',
    attempt_count = 0,
    error_message = @error_message,
    available_at = strftime('%Y-%m-%d %H:%M:%f000', COALESCE(sqlc.narg(now), 'now')),
    updated_at = strftime('%Y-%m-%d %H:%M:%f000', COALESCE(sqlc.narg(now), 'now'))
WHERE id = @id AND status = 'ready' AND updated_at = @seen_updated_at;

-- name: GetEnvironment :one
SELECT id, workspace_id, configuration_id, engine_spec, deps_digest, status,
       error_message, claimed_by, claim_expires_at, created_at, updated_at,
       last_used_at, python_version, python_interpreter, engine_version,
       attempt_count, available_at
FROM environments
WHERE id = @id;
