-- The tables ade-worker shares with the ADE API (SQLite dialect).
-- Timestamps are UTC text in the API's fixed-width form 'YYYY-MM-DD HH:MM:SS.ffffff',
-- so text comparison is time comparison.

-- +goose Up
CREATE TABLE configurations (
    id           TEXT NOT NULL PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    status       TEXT NOT NULL DEFAULT 'active',
    created_at   DATETIME NOT NULL,
    updated_at   DATETIME NOT NULL
);

CREATE TABLE environments (
    id                 TEXT NOT NULL PRIMARY KEY,
    workspace_id       TEXT NOT NULL,
    configuration_id   TEXT NOT NULL,
    engine_spec        TEXT NOT NULL,
    deps_digest        TEXT NOT NULL,
    status             TEXT NOT NULL DEFAULT 'queued'
        CHECK (status IN ('queued', 'building', 'ready', 'failed')),
    error_message      TEXT,
    claimed_by         TEXT,
    claim_expires_at   DATETIME,
    created_at         DATETIME NOT NULL,
    updated_at         DATETIME NOT NULL,
    last_used_at       DATETIME,
    python_version     TEXT,
    python_interpreter TEXT,
    engine_version     TEXT,
    -- Not in the original contract: bounded, backed-off build retries.
    attempt_count      INTEGER NOT NULL DEFAULT 0,
    available_at       DATETIME NOT NULL,
    CONSTRAINT uq_environments_key UNIQUE (workspace_id, configuration_id, engine_spec, deps_digest)
);

-- ClaimEnvironment: oldest queued environment that is due.
CREATE INDEX ix_environments_claim ON environments (status, available_at, created_at);
-- ExpireEnvironmentLeases and GC's live-lease check.
CREATE INDEX ix_environments_lease ON environments (status, claim_expires_at);

CREATE TABLE documents (
    id                TEXT NOT NULL PRIMARY KEY,
    workspace_id      TEXT NOT NULL,
    original_filename TEXT NOT NULL,
    stored_uri        TEXT NOT NULL,
    last_run_id       TEXT,
    version           INTEGER NOT NULL DEFAULT 1,
    updated_at        DATETIME NOT NULL,
    deleted_at        DATETIME
);

CREATE TABLE document_events (
    cursor           INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id     TEXT NOT NULL,
    document_id      TEXT NOT NULL,
    event_type       TEXT NOT NULL,
    document_version INTEGER NOT NULL,
    occurred_at      DATETIME NOT NULL
);

-- The API's change feed reads events of one workspace after a cursor.
CREATE INDEX ix_document_events_workspace ON document_events (workspace_id, cursor);

-- +goose StatementBegin
CREATE TRIGGER tr_documents_insert AFTER INSERT ON documents
BEGIN
    INSERT INTO document_events (workspace_id, document_id, event_type, document_version, occurred_at)
    VALUES (NEW.workspace_id, NEW.id, 'document.changed', NEW.version,
            strftime('%Y-%m-%d %H:%M:%f000', 'now'));
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER tr_documents_update AFTER UPDATE ON documents
WHEN NEW.version IS NOT OLD.version
BEGIN
    INSERT INTO document_events (workspace_id, document_id, event_type, document_version, occurred_at)
    VALUES (NEW.workspace_id, NEW.id,
            CASE WHEN NEW.deleted_at IS NOT NULL AND OLD.deleted_at IS NULL
                 THEN 'document.deleted' ELSE 'document.changed' END,
            NEW.version, strftime('%Y-%m-%d %H:%M:%f000', 'now'));
END;
-- +goose StatementEnd

CREATE TABLE runs (
    id                TEXT NOT NULL PRIMARY KEY,
    workspace_id      TEXT NOT NULL,
    configuration_id  TEXT NOT NULL,
    input_document_id TEXT NOT NULL,
    input_sheet_names TEXT,
    run_options       TEXT,
    output_path       TEXT,
    engine_spec       TEXT NOT NULL,
    deps_digest       TEXT NOT NULL,
    status            TEXT NOT NULL DEFAULT 'queued'
        CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
    available_at      DATETIME NOT NULL,
    attempt_count     INTEGER NOT NULL DEFAULT 0,
    max_attempts      INTEGER NOT NULL DEFAULT 3,
    claimed_by        TEXT,
    claim_expires_at  DATETIME,
    exit_code         INTEGER,
    error_message     TEXT,
    created_at        DATETIME NOT NULL,
    started_at        DATETIME,
    completed_at      DATETIME
);

-- ClaimRun: seek the oldest due queued run.
CREATE INDEX ix_runs_claim ON runs (status, available_at, created_at);
-- ExpireRunLeases: running runs past their lease.
CREATE INDEX ix_runs_lease ON runs (status, claim_expires_at);
-- EnsureEnvironments, FailRunsOfFailedEnvironments and GC's "no live run" check, by environment key.
CREATE INDEX ix_runs_env_key ON runs (workspace_id, configuration_id, engine_spec, deps_digest, status);
-- ListExpiredRunArtifacts: terminal runs by completion time.
CREATE INDEX ix_runs_completed ON runs (status, completed_at);

CREATE TABLE run_metrics (
    run_id                      TEXT NOT NULL PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,
    evaluation_outcome          TEXT,
    evaluation_findings_total   INTEGER,
    evaluation_findings_info    INTEGER,
    evaluation_findings_warning INTEGER,
    evaluation_findings_error   INTEGER,
    validation_issues_total     INTEGER,
    validation_issues_info      INTEGER,
    validation_issues_warning   INTEGER,
    validation_issues_error     INTEGER,
    validation_max_severity     TEXT,
    workbook_count              INTEGER,
    sheet_count                 INTEGER,
    table_count                 INTEGER,
    row_count_total             INTEGER,
    row_count_empty             INTEGER,
    column_count_total          INTEGER,
    column_count_empty          INTEGER,
    column_count_mapped         INTEGER,
    column_count_unmapped       INTEGER,
    field_count_expected        INTEGER,
    field_count_detected        INTEGER,
    field_count_not_detected    INTEGER,
    cell_count_total            INTEGER,
    cell_count_non_empty        INTEGER
);

CREATE TABLE run_fields (
    run_id              TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    field               TEXT NOT NULL,
    label               TEXT,
    detected            BOOLEAN NOT NULL,
    best_mapping_score  REAL,
    occurrences_tables  INTEGER NOT NULL DEFAULT 0,
    occurrences_columns INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, field)
);

CREATE TABLE run_table_columns (
    run_id            TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    workbook_index    INTEGER NOT NULL,
    workbook_name     TEXT,
    sheet_index       INTEGER NOT NULL,
    sheet_name        TEXT,
    table_index       INTEGER NOT NULL,
    column_index      INTEGER NOT NULL,
    header_raw        TEXT,
    header_normalized TEXT,
    non_empty_cells   INTEGER NOT NULL DEFAULT 0,
    mapping_status    TEXT NOT NULL CHECK (mapping_status IN ('mapped', 'unmapped')),
    mapped_field      TEXT,
    mapping_score     REAL,
    mapping_method    TEXT,
    unmapped_reason   TEXT,
    PRIMARY KEY (run_id, workbook_index, sheet_index, table_index, column_index)
);

-- +goose Down
DROP TABLE run_table_columns;
DROP TABLE run_fields;
DROP TABLE run_metrics;
DROP TABLE runs;
DROP TRIGGER tr_documents_update;
DROP TRIGGER tr_documents_insert;
DROP TABLE document_events;
DROP TABLE documents;
DROP TABLE environments;
DROP TABLE configurations;
