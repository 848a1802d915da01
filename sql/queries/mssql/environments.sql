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
DECLARE @keys TABLE (
    workspace_id     NVARCHAR(36)  NOT NULL,
    configuration_id NVARCHAR(36)  NOT NULL,
    engine_spec      NVARCHAR(400) NOT NULL,
    deps_digest      NVARCHAR(200) NOT NULL
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
WITH next AS (
    SELECT TOP (1) *
    FROM environments WITH (UPDLOCK, READPAST, ROWLOCK, READCOMMITTEDLOCK)
    WHERE status = N'queued'
      AND available_at <= COALESCE(CAST(@now AS DATETIME2), SYSUTCDATETIME())
    ORDER BY available_at, created_at
)
UPDATE next
SET status = N'building',
    claimed_by = @worker_id,
    claim_expires_at = DATEADD(MILLISECOND, CAST(ROUND((@lease_seconds - FLOOR(@lease_seconds)) * 1000, 0) AS INT),
        DATEADD(SECOND, CAST(FLOOR(@lease_seconds) AS INT),
                COALESCE(CAST(@now AS DATETIME2), SYSUTCDATETIME()))),
    attempt_count = attempt_count + 1,
    error_message = NULL,
    updated_at = COALESCE(CAST(@now AS DATETIME2), SYSUTCDATETIME())
OUTPUT inserted.id, inserted.workspace_id, inserted.configuration_id, inserted.engine_spec,
       inserted.deps_digest, inserted.attempt_count, inserted.claim_expires_at;

-- name: HeartbeatEnvironment :execrows
UPDATE environments
SET claim_expires_at = DATEADD(MILLISECOND, CAST(ROUND((@lease_seconds - FLOOR(@lease_seconds)) * 1000, 0) AS INT),
        DATEADD(SECOND, CAST(FLOOR(@lease_seconds) AS INT),
                COALESCE(CAST(@now AS DATETIME2), SYSUTCDATETIME())))
WHERE id = @id AND status = N'building' AND claimed_by = @worker_id;

-- name: MarkEnvironmentReady :execrows
UPDATE environments
SET status = N'ready',
    python_version = @python_version,
    python_interpreter = @python_interpreter,
    engine_version = @engine_version,
    error_message = NULL,
    claim_expires_at = NULL,
    updated_at = COALESCE(CAST(@now AS DATETIME2), SYSUTCDATETIME())
WHERE id = @id AND status = N'building' AND claimed_by = @worker_id;

-- name: FailEnvironmentBuild :one
-- backoff(n) = min(max, base * 2^(n-1)), computed once in the APPLYs below.
UPDATE e
SET status = CASE WHEN d.retry = 1 THEN N'queued' ELSE N'failed' END,
    available_at = CASE WHEN d.retry = 1
        THEN DATEADD(MILLISECOND, b.ms, DATEADD(SECOND, b.whole_s, c.now)) ELSE e.available_at END,
    error_message = @error_message,
    claimed_by = NULL,
    claim_expires_at = NULL,
    updated_at = c.now
OUTPUT inserted.status, inserted.attempt_count, inserted.available_at
FROM environments AS e
CROSS APPLY (SELECT COALESCE(CAST(@now AS DATETIME2), SYSUTCDATETIME()) AS now) AS c
CROSS APPLY (SELECT CASE WHEN e.attempt_count < @max_attempts THEN 1 ELSE 0 END AS retry) AS d
CROSS APPLY (SELECT @backoff_base_seconds * POWER(CAST(2 AS FLOAT),
    CASE WHEN e.attempt_count < 1 THEN 0 WHEN e.attempt_count > 31 THEN 30 ELSE e.attempt_count - 1 END) AS seconds) AS raw
CROSS APPLY (SELECT CASE WHEN raw.seconds > @backoff_max_seconds
    THEN @backoff_max_seconds ELSE raw.seconds END AS seconds) AS capped
CROSS APPLY (SELECT CAST(FLOOR(capped.seconds) AS INT) AS whole_s,
    CAST(ROUND((capped.seconds - FLOOR(capped.seconds)) * 1000, 0) AS INT) AS ms) AS b
WHERE e.id = @id AND e.status = N'building' AND e.claimed_by = @worker_id;

-- name: ReleaseEnvironment :execrows
UPDATE environments
SET status = N'queued',
    attempt_count = CASE WHEN attempt_count > 0 THEN attempt_count - 1 ELSE 0 END,
    claimed_by = NULL,
    claim_expires_at = NULL,
    available_at = COALESCE(CAST(@now AS DATETIME2), SYSUTCDATETIME()),
    updated_at = COALESCE(CAST(@now AS DATETIME2), SYSUTCDATETIME())
WHERE id = @id AND status = N'building' AND claimed_by = @worker_id;

-- name: ExpireEnvironmentLeases :many
WITH expired AS (
    SELECT TOP (500) *
    FROM environments WITH (UPDLOCK, READPAST, ROWLOCK, READCOMMITTEDLOCK)
    WHERE status = N'building'
      AND claim_expires_at < COALESCE(CAST(@now AS DATETIME2), SYSUTCDATETIME())
    ORDER BY claim_expires_at
)
UPDATE expired
SET status = N'queued',
    claimed_by = NULL,
    claim_expires_at = NULL,
    error_message = N'lease expired',
    available_at = COALESCE(CAST(@now AS DATETIME2), SYSUTCDATETIME()),
    updated_at = COALESCE(CAST(@now AS DATETIME2), SYSUTCDATETIME())
OUTPUT inserted.id, inserted.workspace_id;

-- name: UseEnvironment :one
UPDATE environments
SET last_used_at = COALESCE(CAST(@now AS DATETIME2), SYSUTCDATETIME())
OUTPUT inserted.id, inserted.python_interpreter, inserted.python_version, inserted.engine_version
WHERE workspace_id = @workspace_id
  AND configuration_id = @configuration_id
  AND engine_spec = @engine_spec
  AND deps_digest = @deps_digest
  AND status = N'ready';

-- name: RequeueEnvironment :execrows
UPDATE environments
SET status = N'queued',
    attempt_count = 0,
    error_message = @error_message,
    available_at = COALESCE(CAST(@now AS DATETIME2), SYSUTCDATETIME()),
    updated_at = COALESCE(CAST(@now AS DATETIME2), SYSUTCDATETIME())
WHERE id = @id AND status = N'ready';

-- name: GetEnvironment :one
SELECT id, workspace_id, configuration_id, engine_spec, deps_digest, status,
       error_message, claimed_by, claim_expires_at, created_at, updated_at,
       last_used_at, python_version, python_interpreter, engine_version,
       attempt_count, available_at
FROM environments
WHERE id = @id;
