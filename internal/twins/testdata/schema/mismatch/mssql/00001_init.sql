-- +goose Up
CREATE TABLE dbo.Runs (
    id           NVARCHAR(36) NOT NULL CONSTRAINT pk_runs PRIMARY KEY,
    workspace_id NVARCHAR(36) NOT NULL,
    claimed_by   NVARCHAR(255) NOT NULL,
    engine_spec  NVARCHAR(400) NOT NULL,
    deps_digest  NVARCHAR(200) NOT NULL,
    exit_code    INT NULL,
    CONSTRAINT uq_runs_key UNIQUE (workspace_id, engine_spec)
);

CREATE TABLE run_fields (
    run_id NVARCHAR(36) NOT NULL CONSTRAINT pk_run_fields PRIMARY KEY,
    field  NVARCHAR(200) NOT NULL,
    label  NVARCHAR(200) NULL
);

CREATE TABLE only_there (id INT NOT NULL PRIMARY KEY);

-- +goose Down
DROP TABLE only_there;
DROP TABLE run_fields;
DROP TABLE dbo.Runs;
