-- T-SQL twins of sql/queries/sqlite/runs.sql. Tables are touched in one
-- order everywhere (runs, then environments, then documents and results) so a
-- claim and a heartbeat or ack cannot deadlock on each other; see
-- docs/sqlserver.md, "Lock order".
--
-- Time arithmetic: DATEADD takes an INT, so a span of s seconds is added as
-- FLOOR(s) seconds plus the rounded remaining milliseconds. A single
-- DATEADD(MILLISECOND, s * 1000) would overflow past 24.8 days.
--
-- No table a statement with OUTPUT (without INTO) changes may carry a
-- trigger: SQL Server refuses such a statement (error 334).

-- name: ClaimRun :one
-- READPAST skips rows other workers hold, UPDLOCK keeps the chosen row ours
-- until the update, READCOMMITTEDLOCK keeps READPAST legal under read
-- committed snapshot (Azure SQL's default). ix_runs_claim serves the seek.
WITH next AS (
    SELECT TOP (1) *
    FROM runs AS r WITH (UPDLOCK, READPAST, ROWLOCK, READCOMMITTEDLOCK)
    WHERE r.status = N'queued'
      AND r.available_at <= COALESCE(CAST(@now AS DATETIME2), SYSUTCDATETIME())
      AND r.attempt_count < r.max_attempts
      AND EXISTS (
          SELECT 1 FROM environments AS e
          WHERE e.workspace_id = r.workspace_id
            AND e.configuration_id = r.configuration_id
            AND e.engine_spec = r.engine_spec
            AND e.deps_digest = r.deps_digest
            AND e.status = N'ready'
      )
    ORDER BY r.available_at, r.created_at
)
UPDATE next
SET status = N'running',
    claimed_by = @worker_id,
    claim_expires_at = DATEADD(MILLISECOND, CAST(ROUND((@lease_seconds - FLOOR(@lease_seconds)) * 1000, 0) AS INT),
        DATEADD(SECOND, CAST(FLOOR(@lease_seconds) AS INT),
                COALESCE(CAST(@now AS DATETIME2), SYSUTCDATETIME()))),
    started_at = COALESCE(started_at, COALESCE(CAST(@now AS DATETIME2), SYSUTCDATETIME())),
    attempt_count = attempt_count + 1,
    error_message = NULL
OUTPUT inserted.id, inserted.workspace_id, inserted.configuration_id, inserted.input_document_id,
       inserted.input_sheet_names, inserted.run_options, inserted.engine_spec, inserted.deps_digest,
       inserted.attempt_count, inserted.max_attempts, inserted.claim_expires_at,
       inserted.created_at, inserted.started_at;

-- name: HeartbeatRun :execrows
UPDATE runs
SET claim_expires_at = DATEADD(MILLISECOND, CAST(ROUND((@lease_seconds - FLOOR(@lease_seconds)) * 1000, 0) AS INT),
        DATEADD(SECOND, CAST(FLOOR(@lease_seconds) AS INT),
                COALESCE(CAST(@now AS DATETIME2), SYSUTCDATETIME())))
WHERE id = @id AND status = N'running' AND claimed_by = @worker_id;

-- name: CompleteRun :execrows
UPDATE runs
SET status = N'succeeded',
    completed_at = COALESCE(CAST(@now AS DATETIME2), SYSUTCDATETIME()),
    exit_code = @exit_code,
    output_path = @output_path,
    error_message = @error_message,
    claim_expires_at = NULL
WHERE id = @id AND status = N'running' AND claimed_by = @worker_id;

-- name: FailRun :one
-- backoff(n) = min(max, base * 2^(n-1)), computed once in the APPLYs below.
UPDATE r
SET status = CASE WHEN d.retry = 1 THEN N'queued' ELSE N'failed' END,
    available_at = CASE WHEN d.retry = 1
        THEN DATEADD(MILLISECOND, b.ms, DATEADD(SECOND, b.whole_s, c.now)) ELSE r.available_at END,
    completed_at = CASE WHEN d.retry = 1 THEN NULL ELSE c.now END,
    claimed_by = CASE WHEN d.retry = 1 THEN NULL ELSE r.claimed_by END,
    exit_code = @exit_code,
    error_message = @error_message,
    claim_expires_at = NULL
OUTPUT inserted.status, inserted.attempt_count, inserted.max_attempts, inserted.available_at
FROM runs AS r
CROSS APPLY (SELECT COALESCE(CAST(@now AS DATETIME2), SYSUTCDATETIME()) AS now) AS c
CROSS APPLY (SELECT CASE WHEN @retryable = 1 AND r.attempt_count < r.max_attempts
    THEN 1 ELSE 0 END AS retry) AS d
CROSS APPLY (SELECT @backoff_base_seconds * POWER(CAST(2 AS FLOAT),
    CASE WHEN r.attempt_count < 1 THEN 0 WHEN r.attempt_count > 31 THEN 30 ELSE r.attempt_count - 1 END) AS seconds) AS raw
CROSS APPLY (SELECT CASE WHEN raw.seconds > @backoff_max_seconds
    THEN @backoff_max_seconds ELSE raw.seconds END AS seconds) AS capped
CROSS APPLY (SELECT CAST(FLOOR(capped.seconds) AS INT) AS whole_s,
    CAST(ROUND((capped.seconds - FLOOR(capped.seconds)) * 1000, 0) AS INT) AS ms) AS b
WHERE r.id = @id AND r.status = N'running' AND r.claimed_by = @worker_id;

-- name: ReleaseRun :execrows
UPDATE runs
SET status = N'queued',
    attempt_count = CASE WHEN attempt_count > 0 THEN attempt_count - 1 ELSE 0 END,
    claimed_by = NULL,
    claim_expires_at = NULL,
    available_at = COALESCE(CAST(@now AS DATETIME2), SYSUTCDATETIME())
WHERE id = @id AND status = N'running' AND claimed_by = @worker_id;

-- name: DeferRun :execrows
UPDATE r
SET status = N'queued',
    attempt_count = CASE WHEN r.attempt_count > 0 THEN r.attempt_count - 1 ELSE 0 END,
    claimed_by = NULL,
    claim_expires_at = NULL,
    error_message = @error_message,
    available_at = DATEADD(MILLISECOND, b.ms, DATEADD(SECOND, b.whole_s, c.now))
FROM runs AS r
CROSS APPLY (SELECT COALESCE(CAST(@now AS DATETIME2), SYSUTCDATETIME()) AS now) AS c
CROSS APPLY (SELECT CAST(FLOOR(@delay_seconds) AS INT) AS whole_s,
    CAST(ROUND((@delay_seconds - FLOOR(@delay_seconds)) * 1000, 0) AS INT) AS ms) AS b
WHERE r.id = @id AND r.status = N'running' AND r.claimed_by = @worker_id;

-- name: ExpireRunLeases :many
WITH expired AS (
    SELECT TOP (500) *
    FROM runs WITH (UPDLOCK, READPAST, ROWLOCK, READCOMMITTEDLOCK)
    WHERE status = N'running'
      AND claim_expires_at < COALESCE(CAST(@now AS DATETIME2), SYSUTCDATETIME())
    ORDER BY claim_expires_at
)
UPDATE x
SET status = CASE WHEN x.attempt_count < x.max_attempts THEN N'queued' ELSE N'failed' END,
    available_at = CASE WHEN x.attempt_count < x.max_attempts
        THEN DATEADD(MILLISECOND, b.ms, DATEADD(SECOND, b.whole_s, c.now)) ELSE x.available_at END,
    completed_at = CASE WHEN x.attempt_count < x.max_attempts THEN NULL ELSE c.now END,
    error_message = N'lease expired',
    claimed_by = NULL,
    claim_expires_at = NULL
OUTPUT inserted.id, inserted.workspace_id, inserted.status, inserted.attempt_count
FROM expired AS x
CROSS APPLY (SELECT COALESCE(CAST(@now AS DATETIME2), SYSUTCDATETIME()) AS now) AS c
CROSS APPLY (SELECT @backoff_base_seconds * POWER(CAST(2 AS FLOAT),
    CASE WHEN x.attempt_count < 1 THEN 0 WHEN x.attempt_count > 31 THEN 30 ELSE x.attempt_count - 1 END) AS seconds) AS raw
CROSS APPLY (SELECT CASE WHEN raw.seconds > @backoff_max_seconds
    THEN @backoff_max_seconds ELSE raw.seconds END AS seconds) AS capped
CROSS APPLY (SELECT CAST(FLOOR(capped.seconds) AS INT) AS whole_s,
    CAST(ROUND((capped.seconds - FLOOR(capped.seconds)) * 1000, 0) AS INT) AS ms) AS b;

-- name: FailRunsOfFailedEnvironments :many
-- Driven from the failed environments: each is one range seek of
-- ix_runs_status_key on (queued, its key, created_at <= the failure), so the
-- statement reads the runs it fails and nothing of the rest of the queue.
WITH doomed AS (
    SELECT TOP (500) r.*, e.error_message AS build_error
    FROM environments AS e
    JOIN runs AS r WITH (UPDLOCK, READPAST, ROWLOCK, READCOMMITTEDLOCK)
      ON r.status = N'queued'
     AND r.workspace_id = e.workspace_id
     AND r.configuration_id = e.configuration_id
     AND r.engine_spec = e.engine_spec
     AND r.deps_digest = e.deps_digest
     AND r.created_at <= e.updated_at
    WHERE e.status = N'failed'
    ORDER BY r.created_at
)
UPDATE doomed
SET status = N'failed',
    completed_at = COALESCE(CAST(@now AS DATETIME2), SYSUTCDATETIME()),
    error_message = N'environment build failed: ' + COALESCE(build_error, N'unknown error')
OUTPUT inserted.id, inserted.workspace_id, inserted.error_message;

-- name: FailExhaustedRuns :many
-- Reads the queued runs through ix_runs_claim, whose INCLUDE has both counts:
-- unlike SQLite, which keeps these runs in a partial index, SQL Server has
-- no filtered index for them (see migration 00002). A scan of queued runs
-- every ADE_WORKER_CLEANUP_INTERVAL does not hold up claims here: there is
-- no database-wide write lock, and claims READPAST locked rows.
WITH exhausted AS (
    SELECT TOP (500) *
    FROM runs WITH (UPDLOCK, READPAST, ROWLOCK, READCOMMITTEDLOCK)
    WHERE status = N'queued' AND attempt_count >= max_attempts
    ORDER BY available_at, created_at
)
UPDATE exhausted
SET status = N'failed',
    completed_at = COALESCE(CAST(@now AS DATETIME2), SYSUTCDATETIME()),
    error_message = COALESCE(error_message + N' (no attempts left)',
                             N'no attempts left: max_attempts is ' + CAST(max_attempts AS NVARCHAR(20)))
OUTPUT inserted.id, inserted.workspace_id, inserted.error_message;

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
