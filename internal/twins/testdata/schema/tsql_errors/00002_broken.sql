-- +goose Up
CREATE TABLE FROM broken (id INT NOT NULL);

-- +goose Down
DROP TABLE broken;
