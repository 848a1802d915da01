-- Runs: the queue. Every write to a claimed run is fenced on
-- (status, claimed_by, attempt_count); zero rows changed means the claim
-- was lost. The attempt count tells this worker's claim from a later claim
-- of the same run by the same worker (after its lease expired), whose
-- status and claimed_by are the same.
--
-- A batch update written "WHERE id IN (SELECT ... LIMIT 500) AND +status =
-- ..." keeps the status fence out of the index choice (unary + on a column
-- stops SQLite using an index for that term): without it, SQLite, which has
-- no statistics here, would walk every run of that status through an index
-- and test each against the list instead of looking the listed ids up.

-- name: ClaimRun :one
-- The oldest due queued run with attempts left and a ready environment
-- becomes running under a lease. started_at keeps the first attempt's time.
UPDATE runs
SET status = 'running',
    claimed_by = @worker_id,
    claim_expires_at = strftime('%Y-%m-%d %H:%M:%f000', COALESCE(sqlc.narg(now), 'now'),
                                '+' || CAST(@lease_seconds AS REAL) || ' seconds'),
    started_at = COALESCE(started_at, strftime('%Y-%m-%d %H:%M:%f000', COALESCE(sqlc.narg(now), 'now'))),
    attempt_count = attempt_count + 1,
    error_message = NULL
WHERE id = (
    SELECT r.id FROM runs AS r
    WHERE r.status = 'queued'
      AND r.available_at <= strftime('%Y-%m-%d %H:%M:%f000', COALESCE(sqlc.narg(now), 'now'))
      AND r.attempt_count < r.max_attempts
      AND EXISTS (
          SELECT 1 FROM environments AS e
          WHERE e.workspace_id = r.workspace_id
            AND e.configuration_id = r.configuration_id
            AND e.engine_spec = r.engine_spec
            AND e.deps_digest = r.deps_digest
            AND e.status = 'ready'
      )
    ORDER BY r.available_at, r.created_at
    LIMIT 1
)
  AND status = 'queued'
RETURNING id, workspace_id, configuration_id, input_document_id, input_sheet_names,
          run_options, engine_spec, deps_digest, attempt_count, max_attempts,
          claim_expires_at, created_at, started_at;

-- name: HeartbeatRun :execrows
UPDATE runs
SET claim_expires_at = strftime('%Y-%m-%d %H:%M:%f000', COALESCE(sqlc.narg(now), 'now'),
                                '+' || CAST(@lease_seconds AS REAL) || ' seconds')
WHERE id = @id AND status = 'running' AND claimed_by = @worker_id
  AND attempt_count = @attempt_count;

-- name: CompleteRun :execrows
-- Success. Runs in the same transaction as the results replace.
-- error_message is NULL unless part of the outcome could not be stored
-- (results the database refused).
UPDATE runs
SET status = 'succeeded',
    completed_at = strftime('%Y-%m-%d %H:%M:%f000', COALESCE(sqlc.narg(now), 'now')),
    exit_code = sqlc.narg(exit_code),
    output_path = sqlc.narg(output_path),
    error_message = sqlc.narg(error_message),
    claim_expires_at = NULL
WHERE id = @id AND status = 'running' AND claimed_by = @worker_id
  AND attempt_count = @attempt_count;

-- name: FailRun :one
-- Failure: back to queued after backoff(attempt_count) while attempts remain
-- and the error is retryable, else failed for good.
-- backoff(n) = min(max, base * 2^(n-1)).
UPDATE runs
SET status = CASE WHEN CAST(@retryable AS BOOLEAN) AND attempt_count < max_attempts
        THEN 'queued' ELSE 'failed' END,
    available_at = CASE WHEN CAST(@retryable AS BOOLEAN) AND attempt_count < max_attempts
        THEN strftime('%Y-%m-%d %H:%M:%f000', COALESCE(sqlc.narg(now), 'now'), '+' ||
             min(CAST(@backoff_max_seconds AS REAL),
                 CAST(@backoff_base_seconds AS REAL) * (1 << min(max(attempt_count - 1, 0), 30))) || ' seconds')
        ELSE available_at END,
    completed_at = CASE WHEN CAST(@retryable AS BOOLEAN) AND attempt_count < max_attempts
        THEN NULL ELSE strftime('%Y-%m-%d %H:%M:%f000', COALESCE(sqlc.narg(now), 'now')) END,
    claimed_by = CASE WHEN CAST(@retryable AS BOOLEAN) AND attempt_count < max_attempts
        THEN NULL ELSE claimed_by END,
    exit_code = sqlc.narg(exit_code),
    error_message = @error_message,
    claim_expires_at = NULL
WHERE id = @id AND status = 'running' AND claimed_by = @worker_id
  AND attempt_count = @attempt_count
RETURNING status, attempt_count, max_attempts, available_at;

-- name: ReleaseRun :execrows
-- Give a run back without spending its attempt: graceful shutdown, or an
-- environment that turned out unusable after the claim.
UPDATE runs
SET status = 'queued',
    attempt_count = max(attempt_count - 1, 0),
    claimed_by = NULL,
    claim_expires_at = NULL,
    available_at = strftime('%Y-%m-%d %H:%M:%f000', COALESCE(sqlc.narg(now), 'now'))
WHERE id = @id AND status = 'running' AND claimed_by = @worker_id
  AND attempt_count = @attempt_count;

-- name: DeferRun :execrows
-- Give a run back without spending its attempt, to be claimed again only
-- after delay_seconds: an infrastructure fault on the worker's host (a full
-- disk, a read-only file system, no file descriptors left) stopped it
-- before the engine could run. error_message says why it waits.
UPDATE runs
SET status = 'queued',
    attempt_count = max(attempt_count - 1, 0),
    claimed_by = NULL,
    claim_expires_at = NULL,
    error_message = @error_message,
    available_at = strftime('%Y-%m-%d %H:%M:%f000', COALESCE(sqlc.narg(now), 'now'),
        '+' || CAST(@delay_seconds AS REAL) || ' seconds')
WHERE id = @id AND status = 'running' AND claimed_by = @worker_id
  AND attempt_count = @attempt_count;

-- name: ExpireRunLeases :many
-- A running run past its lease is re-queued with backoff, or failed with
-- "lease expired" when its attempts are used up. Bounded per sweep.
UPDATE runs
SET status = CASE WHEN attempt_count < max_attempts THEN 'queued' ELSE 'failed' END,
    available_at = CASE WHEN attempt_count < max_attempts
        THEN strftime('%Y-%m-%d %H:%M:%f000', COALESCE(sqlc.narg(now), 'now'), '+' ||
             min(CAST(@backoff_max_seconds AS REAL),
                 CAST(@backoff_base_seconds AS REAL) * (1 << min(max(attempt_count - 1, 0), 30))) || ' seconds')
        ELSE available_at END,
    completed_at = CASE WHEN attempt_count < max_attempts
        THEN NULL ELSE strftime('%Y-%m-%d %H:%M:%f000', COALESCE(sqlc.narg(now), 'now')) END,
    error_message = 'lease expired',
    claimed_by = NULL,
    claim_expires_at = NULL
WHERE id IN (
    SELECT x.id FROM runs AS x
    WHERE x.status = 'running'
      AND x.claim_expires_at < strftime('%Y-%m-%d %H:%M:%f000', COALESCE(sqlc.narg(now), 'now'))
    LIMIT 500
)
  AND +status = 'running' -- unary +: fence only, so runs are found by id
RETURNING id, workspace_id, status, attempt_count;

-- name: FailRunsOfFailedEnvironments :many
-- Queued runs that were waiting when their environment failed for good fail
-- with the build's error, so no run waits forever on a broken environment.
-- A run queued after the failure is left for RetryFailedEnvironments.
-- Driven from the failed environments (CROSS JOIN keeps them the outer
-- loop): each is one range seek of ix_runs_status_key on (queued, its key,
-- created_at <= the failure), so the statement reads the runs it fails and
-- nothing of the rest of the queue.
UPDATE runs
SET status = 'failed',
    completed_at = strftime('%Y-%m-%d %H:%M:%f000', COALESCE(sqlc.narg(now), 'now')),
    error_message = 'environment build failed: ' || COALESCE((
        SELECT e.error_message FROM environments AS e
        WHERE e.workspace_id = runs.workspace_id
          AND e.configuration_id = runs.configuration_id
          AND e.engine_spec = runs.engine_spec
          AND e.deps_digest = runs.deps_digest
    ), 'unknown error')
WHERE id IN (
    SELECT r.id FROM environments AS e
    CROSS JOIN runs AS r
    WHERE e.status = 'failed' AND r.status = 'queued'
      AND r.workspace_id = e.workspace_id
      AND r.configuration_id = e.configuration_id
      AND r.engine_spec = e.engine_spec
      AND r.deps_digest = e.deps_digest
      AND r.created_at <= e.updated_at
    LIMIT 500
)
  AND +status = 'queued' -- unary +: fence only, so runs are found by id
RETURNING id, workspace_id, error_message;

-- name: FailExhaustedRuns :many
-- Queued runs that can never be claimed (max_attempts reached, or zero or
-- negative) fail with a message instead of waiting forever. The worker never
-- queues such a run (only the API or a hand-written row can), so the partial
-- index ix_runs_exhausted that holds exactly these runs is normally empty
-- and the statement reads nothing.
UPDATE runs
SET status = 'failed',
    completed_at = strftime('%Y-%m-%d %H:%M:%f000', COALESCE(sqlc.narg(now), 'now')),
    error_message = COALESCE(error_message || ' (no attempts left)',
                             'no attempts left: max_attempts is ' || max_attempts)
WHERE id IN (
    SELECT x.id FROM runs AS x
    WHERE x.status = 'queued' AND x.attempt_count >= x.max_attempts
    ORDER BY x.available_at, x.created_at
    LIMIT 500
)
  AND +status = 'queued' -- unary +: fence only, so runs are found by id
RETURNING id, workspace_id, error_message;

-- name: GetRun :one
SELECT id, workspace_id, configuration_id, input_document_id, input_sheet_names,
       run_options, output_path, engine_spec, deps_digest, status, available_at,
       attempt_count, max_attempts, claimed_by, claim_expires_at, exit_code,
       error_message, created_at, started_at, completed_at
FROM runs
WHERE id = @id;

-- name: GetDocument :one
SELECT id, workspace_id, original_filename, stored_uri, version, deleted_at
FROM documents
WHERE id = @id AND workspace_id = @workspace_id;
