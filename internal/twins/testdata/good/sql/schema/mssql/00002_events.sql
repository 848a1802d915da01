-- +goose Up
CREATE TABLE document_events (
    cursor      BIGINT IDENTITY(1, 1) CONSTRAINT pk_document_events PRIMARY KEY,
    document_id NVARCHAR(36) NOT NULL,
    event_type  NVARCHAR(40) NOT NULL,
    external_id NVARCHAR(100) NULL
);
-- SQL Server's UNIQUE admits one NULL; SQLite's admits many. The filter
-- keeps the SQLite meaning.
CREATE UNIQUE INDEX ux_document_events_external ON document_events (external_id)
    WHERE external_id IS NOT NULL;

-- +goose StatementBegin
CREATE TRIGGER tr_runs_done ON runs AFTER UPDATE AS
BEGIN
    SET NOCOUNT ON;
    INSERT INTO document_events (document_id, event_type)
    SELECT i.id, N'run.done'
    FROM inserted AS i
    JOIN deleted AS d ON d.id = i.id
    WHERE i.status = N'succeeded' AND d.status <> N'succeeded';
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER tr_runs_done;
DROP TABLE document_events;
