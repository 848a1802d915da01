-- +goose Up
ALTER TABLE runs ADD COLUMN exit_code INTEGER;

-- +goose Down
ALTER TABLE runs DROP COLUMN exit_code;
