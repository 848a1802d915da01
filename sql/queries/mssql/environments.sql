-- T-SQL twins of sql/queries/sqlite/environments.sql. "now" is
-- COALESCE(CAST(@now AS DATETIME2), SYSUTCDATETIME()): the database's clock,
-- so workers on several hosts agree; tests pin an instant. Spans of seconds
-- are added as whole seconds plus milliseconds (see runs.sql).

-- name: EnsureEnvironments :execrows
-- Two steps, so the statement keeps the lock order (runs, then
-- environments): the keys queued runs need and no environment has are read
-- into @keys first, which holds no lock once read; only then are they
-- inserted, each under UPDLOCK + HOLDLOCK, which range-locks a missing key
-- so two workers ensuring at once cannot both insert it (no MERGE). The row
-- count is the insert's alone: NOCOUNT hides the first step's.
--
-- The keys are read by a loose index scan of ix_runs_status_key, as
-- SQLite's queued_run_keys view does: the first queued key, then each next
-- one by a seek per key column from the last (same key prefix, a greater
-- value in the next column). A DISTINCT would read every queued run; this
-- reads a few index rows per distinct queued key.
SET NOCOUNT ON;
-- (@keys has no key: the walk visits each key once, and the four columns
-- can be longer than a clustered key's 900 bytes.)
-- engine_spec and deps_digest have the columns' binary collation: a table
-- variable's columns take the database's, and comparing the two would fail
-- (error 468, a collation conflict).
DECLARE @keys TABLE (
    workspace_id     NVARCHAR(36)  NOT NULL,
    configuration_id NVARCHAR(36)  NOT NULL,
    engine_spec      NVARCHAR(400) COLLATE Latin1_General_100_BIN2 NOT NULL,
    deps_digest      NVARCHAR(200) COLLATE Latin1_General_100_BIN2 NOT NULL
);
DECLARE @ws NVARCHAR(36), @cfg NVARCHAR(36), @spec NVARCHAR(400), @digest NVARCHAR(200);
DECLARE @found INT;
SELECT TOP (1) @ws = r.workspace_id, @cfg = r.configuration_id,
       @spec = r.engine_spec, @digest = r.deps_digest
FROM runs AS r
WHERE r.status = N'queued'
ORDER BY r.workspace_id, r.configuration_id, r.engine_spec, r.deps_digest;
SET @found = @@ROWCOUNT;
WHILE @found > 0
BEGIN
    IF NOT EXISTS (
           SELECT 1 FROM environments AS e
           WHERE e.workspace_id = @ws AND e.configuration_id = @cfg
             AND e.engine_spec = @spec AND e.deps_digest = @digest
       )
       AND EXISTS (
           SELECT 1 FROM runs AS r
           WHERE r.status = N'queued'
             AND r.workspace_id = @ws AND r.configuration_id = @cfg
             AND r.engine_spec = @spec AND r.deps_digest = @digest
             AND r.attempt_count < r.max_attempts
       )
        INSERT INTO @keys (workspace_id, configuration_id, engine_spec, deps_digest)
        VALUES (@ws, @cfg, @spec, @digest);
    -- The next key: a greater digest under the same prefix, else a greater
    -- engine spec, else a greater configuration, else a greater workspace.
    SELECT TOP (1) @digest = r.deps_digest
    FROM runs AS r
    WHERE r.status = N'queued' AND r.workspace_id = @ws AND r.configuration_id = @cfg
      AND r.engine_spec = @spec AND r.deps_digest > @digest
    ORDER BY r.deps_digest;
    SET @found = @@ROWCOUNT;
    IF @found = 0
    BEGIN
        SELECT TOP (1) @spec = r.engine_spec, @digest = r.deps_digest
        FROM runs AS r
        WHERE r.status = N'queued' AND r.workspace_id = @ws AND r.configuration_id = @cfg
          AND r.engine_spec > @spec
        ORDER BY r.engine_spec, r.deps_digest;
        SET @found = @@ROWCOUNT;
    END;
    IF @found = 0
    BEGIN
        SELECT TOP (1) @cfg = r.configuration_id, @spec = r.engine_spec, @digest = r.deps_digest
        FROM runs AS r
        WHERE r.status = N'queued' AND r.workspace_id = @ws AND r.configuration_id > @cfg
        ORDER BY r.configuration_id, r.engine_spec, r.deps_digest;
        SET @found = @@ROWCOUNT;
    END;
    IF @found = 0
    BEGIN
        SELECT TOP (1) @ws = r.workspace_id, @cfg = r.configuration_id,
               @spec = r.engine_spec, @digest = r.deps_digest
        FROM runs AS r
        WHERE r.status = N'queued' AND r.workspace_id > @ws
        ORDER BY r.workspace_id, r.configuration_id, r.engine_spec, r.deps_digest;
        SET @found = @@ROWCOUNT;
    END;
END;
SET NOCOUNT OFF;
INSERT INTO environments (
    id, workspace_id, configuration_id, engine_spec, deps_digest,
    status, created_at, updated_at, available_at
)
SELECT
    LOWER(CONVERT(NVARCHAR(36), NEWID())),
    k.workspace_id, k.configuration_id, k.engine_spec, k.deps_digest,
    N'queued',
    COALESCE(CAST(@now AS DATETIME2), SYSUTCDATETIME()),
    COALESCE(CAST(@now AS DATETIME2), SYSUTCDATETIME()),
    COALESCE(CAST(@now AS DATETIME2), SYSUTCDATETIME())
FROM @keys AS k
WHERE NOT EXISTS (
    SELECT 1 FROM environments AS e WITH (UPDLOCK, HOLDLOCK)
    WHERE e.workspace_id = k.workspace_id
      AND e.configuration_id = k.configuration_id
      AND e.engine_spec = k.engine_spec
      AND e.deps_digest = k.deps_digest
);

-- name: RetryFailedEnvironments :execrows
-- Environments are touched after runs here as everywhere: the runs read
-- comes first, then the environment rows are updated by primary key.
SET NOCOUNT ON;
DECLARE @retry TABLE (id NVARCHAR(36) NOT NULL);
INSERT INTO @retry (id)
SELECT e.id
FROM environments AS e
WHERE e.status = N'failed'
  AND EXISTS (
      SELECT 1 FROM runs AS r
      WHERE r.workspace_id = e.workspace_id
        AND r.configuration_id = e.configuration_id
        AND r.engine_spec = e.engine_spec
        AND r.deps_digest = e.deps_digest
        AND r.status = N'queued'
        AND r.attempt_count < r.max_attempts
        AND r.created_at > e.updated_at
  );
SET NOCOUNT OFF; -- :execrows reports the UPDATE's count alone
UPDATE e
SET status = N'queued',
    attempt_count = 0,
    available_at = COALESCE(CAST(@now AS DATETIME2), SYSUTCDATETIME()),
    updated_at = COALESCE(CAST(@now AS DATETIME2), SYSUTCDATETIME())
FROM environments AS e
JOIN @retry AS x ON x.id = e.id
WHERE e.status = N'failed';

-- name: ClaimEnvironment :one
-- Built as ClaimRun is: the candidate is picked by a locking read that
-- skips rows other claims hold, then taken by an UPDATE under UPDLOCK and
-- READPAST that checks it again; a candidate taken in between is skipped
-- and the next one tried.
SET NOCOUNT ON;
DECLARE @at DATETIME2 = COALESCE(CAST(@now AS DATETIME2), SYSUTCDATETIME());
DECLARE @candidate NVARCHAR(36), @tries INT = 0;
DECLARE @claimed TABLE (
    id               NVARCHAR(36)  NOT NULL,
    workspace_id     NVARCHAR(36)  NOT NULL,
    configuration_id NVARCHAR(36)  NOT NULL,
    engine_spec      NVARCHAR(400) COLLATE Latin1_General_100_BIN2 NOT NULL,
    deps_digest      NVARCHAR(200) COLLATE Latin1_General_100_BIN2 NOT NULL,
    attempt_count    INT           NOT NULL,
    claim_expires_at DATETIME2     NULL
);
WHILE @tries < 4
BEGIN
    SET @tries = @tries + 1;
    SET @candidate = NULL;
    SELECT TOP (1) @candidate = e.id
    FROM environments AS e WITH (READPAST, ROWLOCK, READCOMMITTEDLOCK)
    WHERE e.status = N'queued'
      AND e.available_at <= @at
    ORDER BY e.available_at, e.created_at;
    IF @candidate IS NULL
        BREAK;
    UPDATE environments WITH (UPDLOCK, READPAST, ROWLOCK, READCOMMITTEDLOCK)
    SET status = N'building',
        claimed_by = @worker_id,
        claim_expires_at = DATEADD(MILLISECOND, CAST(ROUND((@lease_seconds - FLOOR(@lease_seconds)) * 1000, 0) AS INT),
            DATEADD(SECOND, CAST(FLOOR(@lease_seconds) AS INT), @at)),
        attempt_count = attempt_count + 1,
        error_message = NULL,
        updated_at = @at
    OUTPUT inserted.id, inserted.workspace_id, inserted.configuration_id, inserted.engine_spec,
           inserted.deps_digest, inserted.attempt_count, inserted.claim_expires_at
    INTO @claimed
    WHERE id = @candidate
      AND status = N'queued'
      AND available_at <= @at;
    IF @@ROWCOUNT > 0
        BREAK;
END;
SET NOCOUNT OFF;
SELECT id, workspace_id, configuration_id, engine_spec, deps_digest, attempt_count, claim_expires_at
FROM @claimed;

-- name: HeartbeatEnvironment :execrows
UPDATE environments
SET claim_expires_at = DATEADD(MILLISECOND, CAST(ROUND((@lease_seconds - FLOOR(@lease_seconds)) * 1000, 0) AS INT),
        DATEADD(SECOND, CAST(FLOOR(@lease_seconds) AS INT),
                COALESCE(CAST(@now AS DATETIME2), SYSUTCDATETIME())))
WHERE id = @id AND status = N'building' AND claimed_by = @worker_id
  AND attempt_count = @attempt_count;

-- name: MarkEnvironmentReady :execrows
UPDATE environments
SET status = N'ready',
    python_version = @python_version,
    python_interpreter = @python_interpreter,
    engine_version = @engine_version,
    error_message = NULL,
    claim_expires_at = NULL,
    updated_at = COALESCE(CAST(@now AS DATETIME2), SYSUTCDATETIME())
WHERE id = @id AND status = N'building' AND claimed_by = @worker_id
  AND attempt_count = @attempt_count;

-- name: FailEnvironmentBuild :one
-- backoff(n) = min(max, base * 2^(n-1)), worked out from the attempt count
-- read first under UPDLOCK, as in FailRun.
SET NOCOUNT ON;
DECLARE @at DATETIME2 = COALESCE(CAST(@now AS DATETIME2), SYSUTCDATETIME());
DECLARE @attempts INT, @retry BIT, @backoff FLOAT;
DECLARE @failed TABLE (
    status        NVARCHAR(20) NOT NULL,
    attempt_count INT          NOT NULL,
    available_at  DATETIME2    NOT NULL
);
SELECT @attempts = e.attempt_count
FROM environments AS e WITH (UPDLOCK, ROWLOCK)
WHERE e.id = @id AND e.status = N'building' AND e.claimed_by = @worker_id
  AND e.attempt_count = @attempt_count;
IF @attempts IS NOT NULL
BEGIN
    SET @retry = CASE WHEN @attempts < @max_attempts THEN 1 ELSE 0 END;
    SET @backoff = @backoff_base_seconds * POWER(CAST(2 AS FLOAT),
        CASE WHEN @attempts < 1 THEN 0 WHEN @attempts > 31 THEN 30 ELSE @attempts - 1 END);
    IF @backoff > @backoff_max_seconds
        SET @backoff = @backoff_max_seconds;
    UPDATE environments
    SET status = CASE WHEN @retry = 1 THEN N'queued' ELSE N'failed' END,
        available_at = CASE WHEN @retry = 1
            THEN DATEADD(MILLISECOND, CAST(ROUND((@backoff - FLOOR(@backoff)) * 1000, 0) AS INT),
                 DATEADD(SECOND, CAST(FLOOR(@backoff) AS INT), @at))
            ELSE available_at END,
        error_message = @error_message,
        claimed_by = NULL,
        claim_expires_at = NULL,
        updated_at = @at
    OUTPUT inserted.status, inserted.attempt_count, inserted.available_at INTO @failed
    WHERE id = @id AND status = N'building' AND claimed_by = @worker_id AND attempt_count = @attempts;
END;
SET NOCOUNT OFF;
SELECT status, attempt_count, available_at FROM @failed;

-- name: ReleaseEnvironment :execrows
UPDATE environments
SET status = N'queued',
    attempt_count = CASE WHEN attempt_count > 0 THEN attempt_count - 1 ELSE 0 END,
    claimed_by = NULL,
    claim_expires_at = NULL,
    available_at = COALESCE(CAST(@now AS DATETIME2), SYSUTCDATETIME()),
    updated_at = COALESCE(CAST(@now AS DATETIME2), SYSUTCDATETIME())
WHERE id = @id AND status = N'building' AND claimed_by = @worker_id
  AND attempt_count = @attempt_count;

-- name: ExpireEnvironmentLeases :many
SET NOCOUNT ON;
DECLARE @at DATETIME2 = COALESCE(CAST(@now AS DATETIME2), SYSUTCDATETIME());
DECLARE @expired TABLE (id NVARCHAR(36) NOT NULL PRIMARY KEY);
DECLARE @requeued TABLE (
    id           NVARCHAR(36) NOT NULL,
    workspace_id NVARCHAR(36) NOT NULL
);
INSERT INTO @expired (id)
SELECT TOP (500) e.id
FROM environments AS e WITH (UPDLOCK, READPAST, ROWLOCK, READCOMMITTEDLOCK)
WHERE e.status = N'building'
  AND e.claim_expires_at < @at
ORDER BY e.claim_expires_at;
UPDATE environments
SET status = N'queued',
    claimed_by = NULL,
    claim_expires_at = NULL,
    error_message = N'lease expired',
    available_at = @at,
    updated_at = @at
OUTPUT inserted.id, inserted.workspace_id INTO @requeued
WHERE id IN (SELECT x.id FROM @expired AS x)
  AND status = N'building' AND claim_expires_at < @at;
SET NOCOUNT OFF;
SELECT id, workspace_id FROM @requeued;

-- name: UseEnvironment :one
SET NOCOUNT ON;
DECLARE @used TABLE (
    id                 NVARCHAR(36)   NOT NULL,
    python_interpreter NVARCHAR(1000) NULL,
    python_version     NVARCHAR(100)  NULL,
    engine_version     NVARCHAR(100)  NULL,
    updated_at         DATETIME2      NOT NULL
);
UPDATE environments
SET last_used_at = COALESCE(CAST(@now AS DATETIME2), SYSUTCDATETIME())
OUTPUT inserted.id, inserted.python_interpreter, inserted.python_version, inserted.engine_version,
       inserted.updated_at
INTO @used
WHERE workspace_id = @workspace_id
  AND configuration_id = @configuration_id
  AND engine_spec = @engine_spec
  AND deps_digest = @deps_digest
  AND status = N'ready';
SET NOCOUNT OFF;
SELECT id, python_interpreter, python_version, engine_version, updated_at FROM @used;

-- name: RequeueEnvironment :execrows
-- Fenced on the environment as the run saw it (see the SQLite twin). The
-- run read updated_at with all seven decimals, and the store sends it back
-- as DATETIME2 with all seven.
UPDATE environments
SET status = N'queued',
    attempt_count = 0,
    error_message = @error_message,
    available_at = COALESCE(CAST(@now AS DATETIME2), SYSUTCDATETIME()),
    updated_at = COALESCE(CAST(@now AS DATETIME2), SYSUTCDATETIME())
WHERE id = @id AND status = N'ready' AND updated_at = CAST(@seen_updated_at AS DATETIME2);

-- name: GetEnvironment :one
SELECT id, workspace_id, configuration_id, engine_spec, deps_digest, status,
       error_message, claimed_by, claim_expires_at, created_at, updated_at,
       last_used_at, python_version, python_interpreter, engine_version,
       attempt_count, available_at
FROM environments
WHERE id = @id;
