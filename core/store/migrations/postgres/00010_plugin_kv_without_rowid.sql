-- +goose Up
-- SQLite's plugin tables became WITHOUT ROWID here; PostgreSQL has no such thing.
SELECT 1;

-- +goose Down
SELECT 1;
