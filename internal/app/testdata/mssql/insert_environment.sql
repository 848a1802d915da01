-- Test-only: an environment row as an earlier worker left it. updated_at is
-- @updated_days_ago days before the database clock; last_used_at likewise,
-- or NULL (never used) when @last_used_days_ago is NULL.
INSERT INTO environments (
    id, workspace_id, configuration_id, engine_spec, deps_digest, status,
    created_at, updated_at, last_used_at, python_interpreter, available_at
) VALUES (
    @id, @workspace_id, @configuration_id, @engine_spec, @deps_digest, @status,
    DATEADD(SECOND, -CAST(@updated_days_ago * 86400 AS INT), SYSUTCDATETIME()),
    DATEADD(SECOND, -CAST(@updated_days_ago * 86400 AS INT), SYSUTCDATETIME()),
    CASE WHEN @last_used_days_ago IS NULL THEN NULL
         ELSE DATEADD(SECOND, -CAST(@last_used_days_ago * 86400 AS INT), SYSUTCDATETIME()) END,
    @python_interpreter,
    SYSUTCDATETIME()
);
