-- A ready environment whose interpreter is testdata/fakepython, as if a
-- build had finished, so a test's runs are claimable without building a venv.
INSERT INTO environments (
    id, workspace_id, configuration_id, engine_spec, deps_digest, status,
    created_at, updated_at, available_at,
    python_version, python_interpreter, engine_version
) VALUES (
    :id, :workspace_id, :configuration_id, :engine_spec, :deps_digest, 'ready',
    strftime('%Y-%m-%d %H:%M:%f000', 'now'), strftime('%Y-%m-%d %H:%M:%f000', 'now'),
    strftime('%Y-%m-%d %H:%M:%f000', 'now'),
    '3.0.0', :python_interpreter, '0.0.0-fake'
);
