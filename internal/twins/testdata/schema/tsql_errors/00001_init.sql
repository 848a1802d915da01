-- +goose Up
CREATE TABLE runs (
    id     NVARCHAR(36) NOT NULL PRIMARY KEY,
    status NVARCHAR(20)
);
CREATE TABLE runs (id INT NOT NULL);
ALTER TABLE environments ADD x INT NULL;
ALTER TABLE runs ALTER COLUMN status NVARCHAR(40);

-- +goose Down
DROP TABLE runs;
