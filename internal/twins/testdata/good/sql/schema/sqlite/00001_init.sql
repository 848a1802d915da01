-- +goose Up
CREATE TABLE runs (
    id               TEXT NOT NULL PRIMARY KEY,
    workspace_id     TEXT NOT NULL,
    status           TEXT NOT NULL DEFAULT 'queued',
    claimed_by       TEXT,
    claim_expires_at TEXT,
    available_at     TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    attempt_count    INTEGER NOT NULL DEFAULT 0,
    max_attempts     INTEGER NOT NULL DEFAULT 3
);

CREATE INDEX ix_runs_claim ON runs (status, available_at, created_at);

CREATE TABLE run_fields (
    run_id   TEXT NOT NULL,
    field    TEXT NOT NULL,
    label    TEXT,
    PRIMARY KEY (run_id, field)
);

-- +goose Down
DROP TABLE run_fields;
DROP TABLE runs;
