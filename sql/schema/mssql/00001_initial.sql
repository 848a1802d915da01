-- The tables ade-worker shares with the ADE API (T-SQL dialect).
-- Strings are NVARCHAR because go-mssqldb sends strings as NVARCHAR: a VARCHAR
-- column compared with an NVARCHAR parameter is converted row by row and
-- cannot be seeked. Timestamps are UTC DATETIME2.

-- +goose Up
CREATE TABLE configurations (
    id           NVARCHAR(36) NOT NULL CONSTRAINT pk_configurations PRIMARY KEY,
    workspace_id NVARCHAR(36) NOT NULL,
    status       NVARCHAR(20) NOT NULL CONSTRAINT df_configurations_status DEFAULT N'active',
    created_at   DATETIME2 NOT NULL,
    updated_at   DATETIME2 NOT NULL
);

CREATE TABLE environments (
    id                 NVARCHAR(36) NOT NULL CONSTRAINT pk_environments PRIMARY KEY,
    workspace_id       NVARCHAR(36) NOT NULL,
    configuration_id   NVARCHAR(36) NOT NULL,
    engine_spec        NVARCHAR(400) NOT NULL,
    deps_digest        NVARCHAR(200) NOT NULL,
    status             NVARCHAR(20) NOT NULL CONSTRAINT df_environments_status DEFAULT N'queued'
        CONSTRAINT ck_environments_status CHECK (status IN (N'queued', N'building', N'ready', N'failed')),
    error_message      NVARCHAR(MAX) NULL,
    claimed_by         NVARCHAR(255) NULL,
    claim_expires_at   DATETIME2 NULL,
    created_at         DATETIME2 NOT NULL,
    updated_at         DATETIME2 NOT NULL,
    last_used_at       DATETIME2 NULL,
    python_version     NVARCHAR(100) NULL,
    python_interpreter NVARCHAR(1000) NULL,
    engine_version     NVARCHAR(100) NULL,
    attempt_count      INT NOT NULL CONSTRAINT df_environments_attempt_count DEFAULT 0,
    available_at       DATETIME2 NOT NULL,
    CONSTRAINT uq_environments_key UNIQUE (workspace_id, configuration_id, engine_spec, deps_digest)
);

-- ClaimEnvironment: oldest queued environment that is due.
CREATE INDEX ix_environments_claim ON environments (status, available_at, created_at);
-- ExpireEnvironmentLeases and GC's live-lease check.
CREATE INDEX ix_environments_lease ON environments (status, claim_expires_at);

CREATE TABLE documents (
    id                NVARCHAR(36) NOT NULL CONSTRAINT pk_documents PRIMARY KEY,
    workspace_id      NVARCHAR(36) NOT NULL,
    original_filename NVARCHAR(1000) NOT NULL,
    stored_uri        NVARCHAR(2000) NOT NULL,
    last_run_id       NVARCHAR(36) NULL,
    version           INT NOT NULL CONSTRAINT df_documents_version DEFAULT 1,
    updated_at        DATETIME2 NOT NULL,
    deleted_at        DATETIME2 NULL
);

CREATE TABLE document_events (
    [cursor]         BIGINT IDENTITY(1, 1) NOT NULL CONSTRAINT pk_document_events PRIMARY KEY,
    workspace_id     NVARCHAR(36) NOT NULL,
    document_id      NVARCHAR(36) NOT NULL,
    event_type       NVARCHAR(40) NOT NULL,
    document_version INT NOT NULL,
    occurred_at      DATETIME2 NOT NULL
);

-- The API's change feed reads events of one workspace after a cursor.
-- CURSOR is a reserved word in T-SQL, so the column is always bracketed.
CREATE INDEX ix_document_events_workspace ON document_events (workspace_id, [cursor]);

-- +goose StatementBegin
CREATE TRIGGER tr_documents_insert ON documents AFTER INSERT AS
BEGIN
    SET NOCOUNT ON;
    INSERT INTO document_events (workspace_id, document_id, event_type, document_version, occurred_at)
    SELECT i.workspace_id, i.id, N'document.changed', i.version, SYSUTCDATETIME()
    FROM inserted AS i;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER tr_documents_update ON documents AFTER UPDATE AS
BEGIN
    SET NOCOUNT ON;
    INSERT INTO document_events (workspace_id, document_id, event_type, document_version, occurred_at)
    SELECT i.workspace_id, i.id,
           CASE WHEN i.deleted_at IS NOT NULL AND d.deleted_at IS NULL
                THEN N'document.deleted' ELSE N'document.changed' END,
           i.version, SYSUTCDATETIME()
    FROM inserted AS i
    JOIN deleted AS d ON d.id = i.id
    WHERE i.version <> d.version;
END;
-- +goose StatementEnd

CREATE TABLE runs (
    id                NVARCHAR(36) NOT NULL CONSTRAINT pk_runs PRIMARY KEY,
    workspace_id      NVARCHAR(36) NOT NULL,
    configuration_id  NVARCHAR(36) NOT NULL,
    input_document_id NVARCHAR(36) NOT NULL,
    input_sheet_names NVARCHAR(MAX) NULL,
    run_options       NVARCHAR(MAX) NULL,
    output_path       NVARCHAR(2000) NULL,
    engine_spec       NVARCHAR(400) NOT NULL,
    deps_digest       NVARCHAR(200) NOT NULL,
    status            NVARCHAR(20) NOT NULL CONSTRAINT df_runs_status DEFAULT N'queued'
        CONSTRAINT ck_runs_status CHECK (status IN (N'queued', N'running', N'succeeded', N'failed')),
    available_at      DATETIME2 NOT NULL,
    attempt_count     INT NOT NULL CONSTRAINT df_runs_attempt_count DEFAULT 0,
    max_attempts      INT NOT NULL CONSTRAINT df_runs_max_attempts DEFAULT 3,
    claimed_by        NVARCHAR(255) NULL,
    claim_expires_at  DATETIME2 NULL,
    exit_code         INT NULL,
    error_message     NVARCHAR(MAX) NULL,
    created_at        DATETIME2 NOT NULL,
    started_at        DATETIME2 NULL,
    completed_at      DATETIME2 NULL
);

-- ClaimRun: seek the oldest due queued run in index order (no sort); the
-- INCLUDE columns answer the attempt check and the environment-key probe
-- without a lookup, so only the claimed row is read from the table.
-- EnsureEnvironments, FailExhaustedRuns and CountPendingWork read queued
-- runs from it alone too.
CREATE INDEX ix_runs_claim ON runs (status, available_at, created_at)
    INCLUDE (attempt_count, max_attempts, workspace_id, configuration_id, engine_spec, deps_digest);
-- ExpireRunLeases: running runs past their lease.
CREATE INDEX ix_runs_lease ON runs (status, claim_expires_at);
-- EnsureEnvironments, FailRunsOfFailedEnvironments and GC's "no live run" check, by environment key.
CREATE INDEX ix_runs_env_key ON runs (workspace_id, configuration_id, engine_spec, deps_digest, status);
-- ListExpiredRunArtifacts: terminal runs in (completed_at, id) order, so each
-- page is a range seek that stops after 500 rows instead of sorting every
-- expired run (only terminal runs have a completed_at).
CREATE INDEX ix_runs_completed ON runs (completed_at, id) INCLUDE (status, workspace_id);

CREATE TABLE run_metrics (
    run_id                      NVARCHAR(36) NOT NULL CONSTRAINT pk_run_metrics PRIMARY KEY
        CONSTRAINT fk_run_metrics_run REFERENCES runs (id) ON DELETE CASCADE,
    evaluation_outcome          NVARCHAR(100) NULL,
    evaluation_findings_total   BIGINT NULL,
    evaluation_findings_info    BIGINT NULL,
    evaluation_findings_warning BIGINT NULL,
    evaluation_findings_error   BIGINT NULL,
    validation_issues_total     BIGINT NULL,
    validation_issues_info      BIGINT NULL,
    validation_issues_warning   BIGINT NULL,
    validation_issues_error     BIGINT NULL,
    validation_max_severity     NVARCHAR(100) NULL,
    workbook_count              BIGINT NULL,
    sheet_count                 BIGINT NULL,
    table_count                 BIGINT NULL,
    row_count_total             BIGINT NULL,
    row_count_empty             BIGINT NULL,
    column_count_total          BIGINT NULL,
    column_count_empty          BIGINT NULL,
    column_count_mapped         BIGINT NULL,
    column_count_unmapped       BIGINT NULL,
    field_count_expected        BIGINT NULL,
    field_count_detected        BIGINT NULL,
    field_count_not_detected    BIGINT NULL,
    cell_count_total            BIGINT NULL,
    cell_count_non_empty        BIGINT NULL
);

CREATE TABLE run_fields (
    run_id              NVARCHAR(36) NOT NULL
        CONSTRAINT fk_run_fields_run REFERENCES runs (id) ON DELETE CASCADE,
    field               NVARCHAR(400) NOT NULL,
    label               NVARCHAR(1000) NULL,
    detected            BIT NOT NULL,
    best_mapping_score  FLOAT NULL,
    occurrences_tables  BIGINT NOT NULL CONSTRAINT df_run_fields_occ_tables DEFAULT 0,
    occurrences_columns BIGINT NOT NULL CONSTRAINT df_run_fields_occ_columns DEFAULT 0,
    CONSTRAINT pk_run_fields PRIMARY KEY (run_id, field)
);

CREATE TABLE run_table_columns (
    run_id            NVARCHAR(36) NOT NULL
        CONSTRAINT fk_run_table_columns_run REFERENCES runs (id) ON DELETE CASCADE,
    workbook_index    BIGINT NOT NULL,
    workbook_name     NVARCHAR(1000) NULL,
    sheet_index       BIGINT NOT NULL,
    sheet_name        NVARCHAR(1000) NULL,
    table_index       BIGINT NOT NULL,
    column_index      BIGINT NOT NULL,
    header_raw        NVARCHAR(MAX) NULL,
    header_normalized NVARCHAR(MAX) NULL,
    non_empty_cells   BIGINT NOT NULL CONSTRAINT df_run_table_columns_non_empty DEFAULT 0,
    mapping_status    NVARCHAR(20) NOT NULL
        CONSTRAINT ck_run_table_columns_status CHECK (mapping_status IN (N'mapped', N'unmapped')),
    mapped_field      NVARCHAR(400) NULL,
    mapping_score     FLOAT NULL,
    mapping_method    NVARCHAR(100) NULL,
    unmapped_reason   NVARCHAR(1000) NULL,
    CONSTRAINT pk_run_table_columns PRIMARY KEY (run_id, workbook_index, sheet_index, table_index, column_index)
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
