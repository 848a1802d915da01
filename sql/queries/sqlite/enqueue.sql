-- The inserts a local `ade-worker enqueue` needs, as the ADE API makes them.

-- name: UpsertConfiguration :exec
INSERT INTO configurations (id, workspace_id, status, created_at, updated_at)
VALUES (@id, @workspace_id, 'active',
        strftime('%Y-%m-%d %H:%M:%f000', COALESCE(sqlc.narg(now), 'now')),
        strftime('%Y-%m-%d %H:%M:%f000', COALESCE(sqlc.narg(now), 'now')))
ON CONFLICT (id) DO UPDATE
SET status = 'active', updated_at = excluded.updated_at;

-- name: SetConfigurationStatus :execrows
UPDATE configurations
SET status = @status,
    updated_at = strftime('%Y-%m-%d %H:%M:%f000', COALESCE(sqlc.narg(now), 'now'))
WHERE id = @id;

-- name: InsertDocument :exec
INSERT INTO documents (id, workspace_id, original_filename, stored_uri, version, updated_at)
VALUES (@id, @workspace_id, @original_filename, @stored_uri, 1,
        strftime('%Y-%m-%d %H:%M:%f000', COALESCE(sqlc.narg(now), 'now')));

-- name: InsertRun :exec
INSERT INTO runs (
    id, workspace_id, configuration_id, input_document_id, input_sheet_names,
    run_options, engine_spec, deps_digest, status, available_at, attempt_count,
    max_attempts, created_at
) VALUES (
    @id, @workspace_id, @configuration_id, @input_document_id, sqlc.narg(input_sheet_names),
    sqlc.narg(run_options), @engine_spec, @deps_digest, 'queued',
    strftime('%Y-%m-%d %H:%M:%f000', COALESCE(sqlc.narg(now), 'now')), 0,
    @max_attempts,
    strftime('%Y-%m-%d %H:%M:%f000', COALESCE(sqlc.narg(now), 'now'))
);
