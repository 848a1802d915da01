-- +goose Up
-- Later migrations change what earlier ones made.
ALTER TABLE runs ADD started_at DATETIME2 NULL;
ALTER TABLE runs DROP COLUMN started_at;
CREATE UNIQUE INDEX ux_run_fields_field ON run_fields (field);
DROP INDEX ux_run_fields_field ON run_fields;
ALTER TABLE runs DROP CONSTRAINT uq_runs_key;
ALTER TABLE runs ADD CONSTRAINT uq_runs_key2 UNIQUE (deps_digest, engine_spec, workspace_id);

-- +goose Down
ALTER TABLE runs DROP CONSTRAINT uq_runs_key2;
