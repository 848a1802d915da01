-- +goose Up
CREATE TABLE runs (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    claimed_by   TEXT,
    output_path  TEXT,
    engine_spec  TEXT NOT NULL,
    deps_digest  TEXT NOT NULL
);
CREATE UNIQUE INDEX ux_runs_key ON runs (workspace_id, engine_spec, deps_digest);

CREATE TABLE run_fields (
    run_id TEXT NOT NULL,
    field  TEXT NOT NULL,
    PRIMARY KEY (run_id, field)
);

CREATE TABLE only_here (id INTEGER PRIMARY KEY);

-- +goose Down
DROP TABLE only_here;
DROP TABLE run_fields;
DROP TABLE runs;
