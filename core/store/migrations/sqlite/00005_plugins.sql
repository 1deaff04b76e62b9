-- +goose Up
-- Installed plugins: what managers want (enabled, scope, settings), the SHA-256 of the
-- binary an operator approved, the manifest it last described, and the state a replica
-- last reported. generation grows with every change of the desired state, so replicas
-- tell a new request (restart a failed plugin, say) from one they already applied.
CREATE TABLE plugin_state (
    name       TEXT PRIMARY KEY,
    enabled    BOOLEAN NOT NULL DEFAULT FALSE,
    spaces     TEXT, -- JSON array of space ids; NULL: every space
    roles      TEXT, -- JSON array of role names; NULL: every role
    settings   TEXT NOT NULL DEFAULT '{}', -- JSON object, handed to the plugin's Init
    sha256     TEXT NOT NULL, -- hex, of the approved binary
    manifest   TEXT, -- JSON; NULL until the binary described itself
    state      TEXT NOT NULL DEFAULT 'stopped'
               CHECK (state IN ('starting', 'running', 'stopped', 'failed', 'refused')),
    failures   INTEGER NOT NULL DEFAULT 0, -- crashes in the current window
    last_error TEXT NOT NULL DEFAULT '',
    generation BIGINT NOT NULL DEFAULT 1,
    updated_at BIGINT NOT NULL
);

-- Each plugin's key-value namespace. version grows with every write of a key (it is at
-- least the write's time in microseconds, so a key deleted and written again never
-- reuses a version). Expired entries are invisible and deleted lazily.
CREATE TABLE plugin_kv (
    plugin     TEXT NOT NULL,
    key        TEXT NOT NULL,
    value      BLOB NOT NULL,
    version    BIGINT NOT NULL,
    expires_at BIGINT,
    PRIMARY KEY (plugin, key)
);
CREATE INDEX plugin_kv_expires ON plugin_kv (plugin, expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE plugin_counters (
    plugin TEXT NOT NULL,
    key    TEXT NOT NULL,
    value  BIGINT NOT NULL,
    PRIMARY KEY (plugin, key)
);

-- The events outbox: what happened, in commit order, for delivery to plugins.
CREATE TABLE events (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    id         TEXT NOT NULL UNIQUE,
    type       TEXT NOT NULL,
    item_id    TEXT NOT NULL DEFAULT '',
    space_id   TEXT NOT NULL DEFAULT '',
    actor      TEXT NOT NULL DEFAULT '', -- a user id, "plugin:<name>" or ""
    payload    TEXT NOT NULL DEFAULT '', -- JSON, or empty
    created_at BIGINT NOT NULL
);
CREATE INDEX events_created ON events (created_at);

-- How far each plugin has acknowledged the outbox, when to try again after a failure,
-- and which replica delivers to it (the lease), so replicas do not all deliver.
CREATE TABLE plugin_cursors (
    plugin          TEXT PRIMARY KEY,
    last_seq        BIGINT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL DEFAULT 0,
    lease_owner     TEXT NOT NULL DEFAULT '',
    lease_until     BIGINT NOT NULL DEFAULT 0
);

-- +goose Down
DROP TABLE plugin_cursors;
DROP INDEX events_created;
DROP TABLE events;
DROP TABLE plugin_counters;
DROP INDEX plugin_kv_expires;
DROP TABLE plugin_kv;
DROP TABLE plugin_state;
