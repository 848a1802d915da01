-- +goose Up
CREATE TABLE document_events (
    cursor      INTEGER PRIMARY KEY AUTOINCREMENT,
    document_id TEXT NOT NULL,
    event_type  TEXT NOT NULL,
    external_id TEXT
);
CREATE UNIQUE INDEX ux_document_events_external ON document_events (external_id);

-- +goose StatementBegin
CREATE TRIGGER tr_runs_done AFTER UPDATE OF status ON runs
WHEN NEW.status = 'succeeded'
BEGIN
    INSERT INTO document_events (document_id, event_type) VALUES (NEW.id, 'run.done');
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER tr_runs_done;
DROP TABLE document_events;
