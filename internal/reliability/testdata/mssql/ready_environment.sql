-- A ready environment whose interpreter is testdata/fakepython, as if a
-- build had finished, so a test's runs are claimable without building a venv
-- (T-SQL twin of testdata/ready_environment.sql).
INSERT INTO environments (
    id, workspace_id, configuration_id, engine_spec, deps_digest, status,
    created_at, updated_at, available_at,
    python_version, python_interpreter, engine_version
) VALUES (
    @id, @workspace_id, @configuration_id, @engine_spec, @deps_digest, N'ready',
    SYSUTCDATETIME(), SYSUTCDATETIME(), SYSUTCDATETIME(),
    N'3.0.0', @python_interpreter, N'0.0.0-fake'
);
