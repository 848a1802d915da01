-- The write path of a run, made cheaper (SQLite dialect). Every run is
-- inserted, claimed and acknowledged once, and each of those writes every
-- index that holds it; every page a transaction changes is written to the
-- WAL once more and later copied into the database. SQL Server has no
-- counterpart: its tables are already stored in their primary key, and a
-- filtered index would make every session that writes runs need
-- QUOTED_IDENTIFIER and related options ON (see 00002).

-- +goose Up
-- The claim, lease and environment-key indexes hold only the runs they are
-- read for, so they stay as small as the live queue however many runs have
-- finished, and an ack deletes an entry instead of moving it:
--   ix_runs_claim (ClaimRun, OldestQueuedRun): queued runs;
--   ix_runs_lease (ExpireRunLeases, ListRunningLeases): running runs;
--   ix_runs_status_key (EnsureEnvironments, FailRunsOfFailedEnvironments,
--   RetryFailedEnvironments, GC's live-run check): queued and running runs.
-- Every query that reads them states "status = '<one status>'" as written
-- in the index's WHERE, which is how SQLite knows it may use them.
-- CountRunsByStatus counts queued and running runs in the first two, and
-- finished runs in ix_runs_finished: the full ix_runs_lease used to serve
-- it, and ix_runs_completed_id's entries are eight times as wide (365 ms
-- against 75 ms for 1M finished runs). An ack inserts one entry there.
DROP INDEX ix_runs_claim;
CREATE INDEX ix_runs_claim ON runs (status, available_at, created_at)
    WHERE status = 'queued';
DROP INDEX ix_runs_lease;
CREATE INDEX ix_runs_lease ON runs (status, claim_expires_at)
    WHERE status = 'running';
DROP INDEX ix_runs_status_key;
CREATE INDEX ix_runs_status_key ON runs (status, workspace_id, configuration_id, engine_spec, deps_digest, created_at)
    WHERE status = 'queued' OR status = 'running';
CREATE INDEX ix_runs_finished ON runs (status) WHERE status = 'succeeded' OR status = 'failed';
-- With ix_runs_claim partial too, both answer FailExhaustedRuns; covering
-- the statement (attempt_count, max_attempts and id in the key) makes the
-- planner prefer this one, which is normally empty.
DROP INDEX ix_runs_exhausted;
CREATE INDEX ix_runs_exhausted ON runs (status, available_at, created_at, attempt_count, max_attempts, id)
    WHERE status = 'queued' AND attempt_count >= max_attempts;

-- The results tables are stored in their primary key (WITHOUT ROWID): a
-- row is inserted into one B-tree instead of a table and its key index.
-- Same columns, keys and constraints; the rows are copied over.
CREATE TABLE run_metrics_new (
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
) WITHOUT ROWID;
INSERT INTO run_metrics_new SELECT * FROM run_metrics;
DROP TABLE run_metrics;
ALTER TABLE run_metrics_new RENAME TO run_metrics;

CREATE TABLE run_fields_new (
    run_id              TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    field               TEXT NOT NULL,
    label               TEXT,
    detected            BOOLEAN NOT NULL,
    best_mapping_score  REAL,
    occurrences_tables  INTEGER NOT NULL DEFAULT 0,
    occurrences_columns INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, field)
) WITHOUT ROWID;
INSERT INTO run_fields_new SELECT * FROM run_fields;
DROP TABLE run_fields;
ALTER TABLE run_fields_new RENAME TO run_fields;

CREATE TABLE run_table_columns_new (
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
) WITHOUT ROWID;
INSERT INTO run_table_columns_new SELECT * FROM run_table_columns;
DROP TABLE run_table_columns;
ALTER TABLE run_table_columns_new RENAME TO run_table_columns;

-- +goose Down
DROP INDEX ix_runs_finished;
CREATE TABLE run_metrics_new (
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
INSERT INTO run_metrics_new SELECT * FROM run_metrics;
DROP TABLE run_metrics;
ALTER TABLE run_metrics_new RENAME TO run_metrics;

CREATE TABLE run_fields_new (
    run_id              TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    field               TEXT NOT NULL,
    label               TEXT,
    detected            BOOLEAN NOT NULL,
    best_mapping_score  REAL,
    occurrences_tables  INTEGER NOT NULL DEFAULT 0,
    occurrences_columns INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, field)
);
INSERT INTO run_fields_new SELECT * FROM run_fields;
DROP TABLE run_fields;
ALTER TABLE run_fields_new RENAME TO run_fields;

CREATE TABLE run_table_columns_new (
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
INSERT INTO run_table_columns_new SELECT * FROM run_table_columns;
DROP TABLE run_table_columns;
ALTER TABLE run_table_columns_new RENAME TO run_table_columns;

DROP INDEX ix_runs_exhausted;
CREATE INDEX ix_runs_exhausted ON runs (status, available_at, created_at)
    WHERE status = 'queued' AND attempt_count >= max_attempts;
DROP INDEX ix_runs_status_key;
CREATE INDEX ix_runs_status_key ON runs (status, workspace_id, configuration_id, engine_spec, deps_digest, created_at);
DROP INDEX ix_runs_lease;
CREATE INDEX ix_runs_lease ON runs (status, claim_expires_at);
DROP INDEX ix_runs_claim;
CREATE INDEX ix_runs_claim ON runs (status, available_at, created_at);
