-- T-SQL twins of sql/queries/sqlite/runs.sql. Tables are touched in one
-- order everywhere (runs, then environments, then documents and results) so a
-- claim and a heartbeat or ack cannot deadlock on each other; see
-- docs/sqlserver.md, "Lock order".
--
-- Time arithmetic: DATEADD takes an INT, so a span of s seconds is added as
-- FLOOR(s) seconds plus the rounded remaining milliseconds. A single
-- DATEADD(MILLISECOND, s * 1000) would overflow past 24.8 days.
--
-- A twin that sets NOCOUNT ON sets it OFF again before it ends: Babelfish
-- keeps the setting on the connection after the batch, and the next
-- statement on it would report no row count (an :execrows of 0).
--
-- Every OUTPUT goes INTO a table variable, which a final SELECT returns:
-- OUTPUT without INTO is refused (error 334) on a table that has an enabled
-- trigger, and the ADE API or an operator may add one to runs or
-- environments.

-- name: ClaimRun :one
-- The candidate is picked without UPDLOCK and locked by the UPDATE, which
-- checks it again: under UPDLOCK every queued run the seek walks past (one
-- whose environment is not ready yet, rejected only by the EXISTS) would
-- stay locked until the claim's transaction commits, thousands of rows for a
-- bulk submission of a new dependency key, past the 5,000 locks at which SQL
-- Server escalates to a lock on the whole table. The pick is a locking read
-- (READCOMMITTEDLOCK, so that READPAST is legal under read committed
-- snapshot, Azure SQL's default) that skips rows other claims hold
-- (READPAST) and releases each lock as it goes; ix_runs_claim serves its
-- seek in ORDER BY order. The UPDATE takes the row under UPDLOCK and
-- READPAST, so a candidate another worker claimed in between is skipped,
-- not waited on, and the next candidate is tried (a few times at most).
-- On an engine that ignores table hints (Babelfish) the UPDATE waits for
-- the other claim instead, and its status check then finds the row taken.
SET NOCOUNT ON;
DECLARE @at DATETIME2 = COALESCE(CAST(@now AS DATETIME2), SYSUTCDATETIME());
DECLARE @candidate NVARCHAR(36), @tries INT = 0;
DECLARE @claimed TABLE (
    id                NVARCHAR(36)  NOT NULL,
    workspace_id      NVARCHAR(36)  NOT NULL,
    configuration_id  NVARCHAR(36)  NOT NULL,
    input_document_id NVARCHAR(36)  NOT NULL,
    input_sheet_names NVARCHAR(MAX) NULL,
    run_options       NVARCHAR(MAX) NULL,
    engine_spec       NVARCHAR(400) COLLATE Latin1_General_100_BIN2 NOT NULL,
    deps_digest       NVARCHAR(200) COLLATE Latin1_General_100_BIN2 NOT NULL,
    attempt_count     INT           NOT NULL,
    max_attempts      INT           NOT NULL,
    claim_expires_at  DATETIME2     NULL,
    created_at        DATETIME2     NOT NULL,
    started_at        DATETIME2     NULL
);
WHILE @tries < 4
BEGIN
    SET @tries = @tries + 1;
    SET @candidate = NULL;
    SELECT TOP (1) @candidate = r.id
    FROM runs AS r WITH (READPAST, ROWLOCK, READCOMMITTEDLOCK)
    WHERE r.status = N'queued'
      AND r.available_at <= @at
      AND r.attempt_count < r.max_attempts
      AND EXISTS (
          SELECT 1 FROM environments AS e
          WHERE e.workspace_id = r.workspace_id
            AND e.configuration_id = r.configuration_id
            AND e.engine_spec = r.engine_spec
            AND e.deps_digest = r.deps_digest
            AND e.status = N'ready'
      )
    ORDER BY r.available_at, r.created_at;
    IF @candidate IS NULL
        BREAK;
    UPDATE runs WITH (UPDLOCK, READPAST, ROWLOCK, READCOMMITTEDLOCK)
    SET status = N'running',
        claimed_by = @worker_id,
        claim_expires_at = DATEADD(MILLISECOND, CAST(ROUND((@lease_seconds - FLOOR(@lease_seconds)) * 1000, 0) AS INT),
            DATEADD(SECOND, CAST(FLOOR(@lease_seconds) AS INT), @at)),
        started_at = COALESCE(started_at, @at),
        attempt_count = attempt_count + 1,
        error_message = NULL
    OUTPUT inserted.id, inserted.workspace_id, inserted.configuration_id, inserted.input_document_id,
           inserted.input_sheet_names, inserted.run_options, inserted.engine_spec, inserted.deps_digest,
           inserted.attempt_count, inserted.max_attempts, inserted.claim_expires_at,
           inserted.created_at, inserted.started_at
    INTO @claimed
    WHERE id = @candidate
      AND status = N'queued'
      AND available_at <= @at
      AND attempt_count < max_attempts;
    IF @@ROWCOUNT > 0
        BREAK;
END;
SET NOCOUNT OFF;
SELECT id, workspace_id, configuration_id, input_document_id, input_sheet_names, run_options,
       engine_spec, deps_digest, attempt_count, max_attempts, claim_expires_at, created_at, started_at
FROM @claimed;

-- name: HeartbeatRun :execrows
UPDATE runs
SET claim_expires_at = DATEADD(MILLISECOND, CAST(ROUND((@lease_seconds - FLOOR(@lease_seconds)) * 1000, 0) AS INT),
        DATEADD(SECOND, CAST(FLOOR(@lease_seconds) AS INT),
                COALESCE(CAST(@now AS DATETIME2), SYSUTCDATETIME())))
WHERE id = @id AND status = N'running' AND claimed_by = @worker_id
  AND attempt_count = @attempt_count;

-- name: CompleteRun :execrows
UPDATE runs
SET status = N'succeeded',
    completed_at = COALESCE(CAST(@now AS DATETIME2), SYSUTCDATETIME()),
    exit_code = @exit_code,
    output_path = @output_path,
    error_message = @error_message,
    claim_expires_at = NULL
WHERE id = @id AND status = N'running' AND claimed_by = @worker_id
  AND attempt_count = @attempt_count;

-- name: FailRun :one
-- backoff(n) = min(max, base * 2^(n-1)), worked out from the run's
-- attempt count, read first under UPDLOCK; the update is fenced on that
-- count too, so it writes the backoff of the attempt it read. (Worked out
-- in the UPDATE from CROSS APPLYs instead, it would not run on Babelfish,
-- which refuses an UPDATE ... OUTPUT whose SET reads another FROM entry.)
SET NOCOUNT ON;
DECLARE @at DATETIME2 = COALESCE(CAST(@now AS DATETIME2), SYSUTCDATETIME());
DECLARE @attempts INT, @max_attempts INT, @retry BIT, @backoff FLOAT;
DECLARE @failed TABLE (
    status        NVARCHAR(20) NOT NULL,
    attempt_count INT          NOT NULL,
    max_attempts  INT          NOT NULL,
    available_at  DATETIME2    NOT NULL
);
SELECT @attempts = r.attempt_count, @max_attempts = r.max_attempts
FROM runs AS r WITH (UPDLOCK, ROWLOCK)
WHERE r.id = @id AND r.status = N'running' AND r.claimed_by = @worker_id
  AND r.attempt_count = @attempt_count;
IF @attempts IS NOT NULL
BEGIN
    SET @retry = CASE WHEN @retryable = 1 AND @attempts < @max_attempts THEN 1 ELSE 0 END;
    SET @backoff = @backoff_base_seconds * POWER(CAST(2 AS FLOAT),
        CASE WHEN @attempts < 1 THEN 0 WHEN @attempts > 31 THEN 30 ELSE @attempts - 1 END);
    IF @backoff > @backoff_max_seconds
        SET @backoff = @backoff_max_seconds;
    UPDATE runs
    SET status = CASE WHEN @retry = 1 THEN N'queued' ELSE N'failed' END,
        available_at = CASE WHEN @retry = 1
            THEN DATEADD(MILLISECOND, CAST(ROUND((@backoff - FLOOR(@backoff)) * 1000, 0) AS INT),
                 DATEADD(SECOND, CAST(FLOOR(@backoff) AS INT), @at))
            ELSE available_at END,
        completed_at = CASE WHEN @retry = 1 THEN NULL ELSE @at END,
        claimed_by = CASE WHEN @retry = 1 THEN NULL ELSE claimed_by END,
        exit_code = @exit_code,
        error_message = @error_message,
        claim_expires_at = NULL
    OUTPUT inserted.status, inserted.attempt_count, inserted.max_attempts, inserted.available_at
    INTO @failed
    WHERE id = @id AND status = N'running' AND claimed_by = @worker_id AND attempt_count = @attempts;
END;
SET NOCOUNT OFF;
SELECT status, attempt_count, max_attempts, available_at FROM @failed;

-- name: ReleaseRun :execrows
UPDATE runs
SET status = N'queued',
    attempt_count = CASE WHEN attempt_count > 0 THEN attempt_count - 1 ELSE 0 END,
    claimed_by = NULL,
    claim_expires_at = NULL,
    available_at = COALESCE(CAST(@now AS DATETIME2), SYSUTCDATETIME())
WHERE id = @id AND status = N'running' AND claimed_by = @worker_id
  AND attempt_count = @attempt_count;

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
WHERE r.id = @id AND r.status = N'running' AND r.claimed_by = @worker_id
  AND r.attempt_count = @attempt_count;

-- name: ExpireRunLeases :many
-- The expired runs are picked first (UPDLOCK, so they stay ours until the
-- update), each with the backoff its attempt count gives; the update then
-- reads each run's new available_at back from that list. (A SET that reads
-- another FROM entry is refused by Babelfish in an UPDATE ... OUTPUT; a
-- subquery is not.)
SET NOCOUNT ON;
DECLARE @at DATETIME2 = COALESCE(CAST(@now AS DATETIME2), SYSUTCDATETIME());
DECLARE @expired TABLE (
    id           NVARCHAR(36) NOT NULL PRIMARY KEY,
    available_at DATETIME2    NOT NULL
);
DECLARE @requeued TABLE (
    id            NVARCHAR(36) NOT NULL,
    workspace_id  NVARCHAR(36) NOT NULL,
    status        NVARCHAR(20) NOT NULL,
    attempt_count INT          NOT NULL
);
INSERT INTO @expired (id, available_at)
SELECT TOP (500) r.id, DATEADD(MILLISECOND, b.ms, DATEADD(SECOND, b.whole_s, @at))
FROM runs AS r WITH (UPDLOCK, READPAST, ROWLOCK, READCOMMITTEDLOCK)
CROSS APPLY (SELECT @backoff_base_seconds * POWER(CAST(2 AS FLOAT),
    CASE WHEN r.attempt_count < 1 THEN 0 WHEN r.attempt_count > 31 THEN 30 ELSE r.attempt_count - 1 END) AS seconds) AS raw
CROSS APPLY (SELECT CASE WHEN raw.seconds > @backoff_max_seconds
    THEN @backoff_max_seconds ELSE raw.seconds END AS seconds) AS capped
CROSS APPLY (SELECT CAST(FLOOR(capped.seconds) AS INT) AS whole_s,
    CAST(ROUND((capped.seconds - FLOOR(capped.seconds)) * 1000, 0) AS INT) AS ms) AS b
WHERE r.status = N'running' AND r.claim_expires_at < @at
ORDER BY r.claim_expires_at;
UPDATE runs
SET status = CASE WHEN attempt_count < max_attempts THEN N'queued' ELSE N'failed' END,
    available_at = CASE WHEN attempt_count < max_attempts
        THEN (SELECT x.available_at FROM @expired AS x WHERE x.id = runs.id) ELSE available_at END,
    completed_at = CASE WHEN attempt_count < max_attempts THEN NULL ELSE @at END,
    error_message = N'lease expired',
    claimed_by = NULL,
    claim_expires_at = NULL
OUTPUT inserted.id, inserted.workspace_id, inserted.status, inserted.attempt_count INTO @requeued
WHERE id IN (SELECT x.id FROM @expired AS x)
  AND status = N'running' AND claim_expires_at < @at;
SET NOCOUNT OFF;
SELECT id, workspace_id, status, attempt_count FROM @requeued;

-- name: FailRunsOfFailedEnvironments :many
-- One failed environment at a time, in id order: the runs of one
-- environment that were queued before it failed are a single range of
-- ix_runs_status_key (queued, its key, created_at <= the failure), read in
-- created_at order, so TOP stops the read after the rows it takes and only
-- those are locked. Over several environments at once, ORDER BY created_at
-- would read, lock and sort every waiting run of all of them first. At most
-- 500 runs per statement, as in the other sweeps.
SET NOCOUNT ON;
DECLARE @at DATETIME2 = COALESCE(CAST(@now AS DATETIME2), SYSUTCDATETIME());
DECLARE @env NVARCHAR(36), @after NVARCHAR(36) = N'', @left INT = 500;
DECLARE @ws NVARCHAR(36), @cfg NVARCHAR(36), @spec NVARCHAR(400), @digest NVARCHAR(200);
DECLARE @failed_at DATETIME2, @build_error NVARCHAR(MAX);
DECLARE @doomed TABLE (id NVARCHAR(36) NOT NULL PRIMARY KEY);
DECLARE @failed TABLE (
    id            NVARCHAR(36)  NOT NULL,
    workspace_id  NVARCHAR(36)  NOT NULL,
    error_message NVARCHAR(MAX) NULL
);
WHILE @left > 0
BEGIN
    SET @env = NULL;
    SELECT TOP (1) @env = e.id, @ws = e.workspace_id, @cfg = e.configuration_id, @spec = e.engine_spec,
           @digest = e.deps_digest, @failed_at = e.updated_at, @build_error = e.error_message
    FROM environments AS e
    WHERE e.status = N'failed'
      AND e.id > @after
      AND EXISTS (
          SELECT 1 FROM runs AS r
          WHERE r.status = N'queued'
            AND r.workspace_id = e.workspace_id
            AND r.configuration_id = e.configuration_id
            AND r.engine_spec = e.engine_spec
            AND r.deps_digest = e.deps_digest
            AND r.created_at <= e.updated_at
      )
    ORDER BY e.id;
    IF @env IS NULL
        BREAK;
    SET @after = @env;
    DELETE FROM @doomed;
    INSERT INTO @doomed (id)
    SELECT TOP (@left) r.id
    FROM runs AS r WITH (UPDLOCK, READPAST, ROWLOCK, READCOMMITTEDLOCK)
    WHERE r.status = N'queued'
      AND r.workspace_id = @ws
      AND r.configuration_id = @cfg
      AND r.engine_spec = @spec
      AND r.deps_digest = @digest
      AND r.created_at <= @failed_at
    ORDER BY r.created_at;
    UPDATE runs
    SET status = N'failed',
        completed_at = @at,
        error_message = N'environment build failed: ' + COALESCE(@build_error, N'unknown error')
    OUTPUT inserted.id, inserted.workspace_id, inserted.error_message INTO @failed
    WHERE id IN (SELECT d.id FROM @doomed AS d)
      AND status = N'queued';
    SET @left = @left - @@ROWCOUNT;
END;
SET NOCOUNT OFF;
SELECT id, workspace_id, error_message FROM @failed;

-- name: FailExhaustedRuns :many
-- Reads the queued runs through ix_runs_claim, whose INCLUDE has both counts:
-- unlike SQLite, which keeps these runs in a partial index, SQL Server has
-- no filtered index for them (see migration 00002). A scan of queued runs
-- every ADE_WORKER_CLEANUP_INTERVAL does not hold up claims here: there is
-- no database-wide write lock, and claims READPAST locked rows.
SET NOCOUNT ON;
DECLARE @at DATETIME2 = COALESCE(CAST(@now AS DATETIME2), SYSUTCDATETIME());
DECLARE @exhausted TABLE (id NVARCHAR(36) NOT NULL PRIMARY KEY);
DECLARE @failed TABLE (
    id            NVARCHAR(36)  NOT NULL,
    workspace_id  NVARCHAR(36)  NOT NULL,
    error_message NVARCHAR(MAX) NULL
);
INSERT INTO @exhausted (id)
SELECT TOP (500) r.id
FROM runs AS r WITH (UPDLOCK, READPAST, ROWLOCK, READCOMMITTEDLOCK)
WHERE r.status = N'queued' AND r.attempt_count >= r.max_attempts
ORDER BY r.available_at, r.created_at;
UPDATE runs
SET status = N'failed',
    completed_at = @at,
    error_message = COALESCE(error_message + N' (no attempts left)',
                             N'no attempts left: max_attempts is ' + CAST(max_attempts AS NVARCHAR(20)))
OUTPUT inserted.id, inserted.workspace_id, inserted.error_message INTO @failed
WHERE id IN (SELECT x.id FROM @exhausted AS x)
  AND status = N'queued' AND attempt_count >= max_attempts;
SET NOCOUNT OFF;
SELECT id, workspace_id, error_message FROM @failed;

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
