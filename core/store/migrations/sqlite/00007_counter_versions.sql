-- +goose Up
-- A counter's version grows with every change (at least to the change's time in
-- microseconds), so a cache of counters (Redis) keeps only the newest value it is
-- handed and a counter deleted and added to again never goes back to an old version.
ALTER TABLE plugin_counters ADD COLUMN version BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE plugin_counters DROP COLUMN version;
