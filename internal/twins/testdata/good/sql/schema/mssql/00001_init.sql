-- +goose Up
CREATE TABLE runs (
    id               NVARCHAR(36) NOT NULL CONSTRAINT pk_runs PRIMARY KEY,
    workspace_id     NVARCHAR(36) NOT NULL,
    status           NVARCHAR(20) NOT NULL CONSTRAINT df_runs_status DEFAULT N'queued',
    claimed_by       NVARCHAR(255) NULL,
    claim_expires_at DATETIME2 NULL,
    available_at     DATETIME2 NOT NULL,
    created_at       DATETIME2 NOT NULL,
    attempt_count    INT NOT NULL CONSTRAINT df_runs_attempt_count DEFAULT 0,
    max_attempts     INT NOT NULL CONSTRAINT df_runs_max_attempts DEFAULT 3
);

CREATE INDEX ix_runs_claim ON runs (status, available_at, created_at);

CREATE TABLE run_fields (
    run_id NVARCHAR(36) NOT NULL,
    field  NVARCHAR(200) NOT NULL,
    label  NVARCHAR(400) NULL,
    CONSTRAINT pk_run_fields PRIMARY KEY (run_id, field)
);

-- +goose Down
DROP TABLE run_fields;
DROP TABLE runs;
