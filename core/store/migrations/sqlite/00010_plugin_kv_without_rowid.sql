-- +goose Up
-- Plugin KV entries and counters are always found by (plugin, key): stored in their
-- primary key's b-tree (WITHOUT ROWID), a lookup is one descent instead of the key's
-- index and then the row. A feed page's decorations look up dozens of keys.
CREATE TABLE plugin_kv_new (
    plugin     TEXT NOT NULL,
    key        TEXT NOT NULL,
    value      BLOB NOT NULL,
    version    BIGINT NOT NULL,
    expires_at BIGINT,
    PRIMARY KEY (plugin, key)
) WITHOUT ROWID;
INSERT INTO plugin_kv_new (plugin, key, value, version, expires_at) SELECT plugin, key, value, version, expires_at FROM plugin_kv;
DROP TABLE plugin_kv;
ALTER TABLE plugin_kv_new RENAME TO plugin_kv;
CREATE INDEX plugin_kv_expires ON plugin_kv (plugin, expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE plugin_counters_new (
    plugin  TEXT NOT NULL,
    key     TEXT NOT NULL,
    value   BIGINT NOT NULL,
    version BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (plugin, key)
) WITHOUT ROWID;
INSERT INTO plugin_counters_new (plugin, key, value, version) SELECT plugin, key, value, version FROM plugin_counters;
DROP TABLE plugin_counters;
ALTER TABLE plugin_counters_new RENAME TO plugin_counters;

-- +goose Down
SELECT 1;
