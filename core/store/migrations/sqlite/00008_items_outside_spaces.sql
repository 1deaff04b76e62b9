-- +goose NO TRANSACTION
-- +goose Up
-- An item may live outside every space (space_id NULL): a plugin's object that only the
-- grantees of its restriction read, such as a project without a space. SQLite cannot
-- drop a NOT NULL constraint in place, so items is rebuilt by SQLite's own procedure
-- (https://sqlite.org/lang_altertable.html#otheralter): foreign keys off, which only
-- works outside a transaction (hence NO TRANSACTION; the store's single write
-- connection runs every statement), the copy in one transaction, rowids (seq) kept so
-- items_fts stays valid. Dropping items removes its indexes and triggers: they are
-- made again, the deletion event with '' for an item outside spaces.
PRAGMA foreign_keys = OFF;
BEGIN;
CREATE TABLE items_new (
    seq           INTEGER PRIMARY KEY,
    id            TEXT NOT NULL UNIQUE,
    kind          TEXT NOT NULL,
    owner         TEXT NOT NULL DEFAULT 'core', -- "core" or a plugin's name
    space_id      TEXT REFERENCES spaces (id) ON DELETE CASCADE, -- NULL: outside spaces, read only if restricted
    author_id     TEXT REFERENCES users (id) ON DELETE SET NULL,
    parent_id     TEXT REFERENCES items (id) ON DELETE SET NULL, -- pages: the knowledge map
    position      INTEGER NOT NULL DEFAULT 0,
    title         TEXT NOT NULL DEFAULT '',
    body          TEXT NOT NULL DEFAULT '',
    comments_text TEXT NOT NULL DEFAULT '', -- the comments' bodies, for search
    tags          TEXT NOT NULL DEFAULT '[]', -- JSON array
    mentions      TEXT NOT NULL DEFAULT '[]', -- JSON array of user ids
    comment_count INTEGER NOT NULL DEFAULT 0,
    restricted    BOOLEAN NOT NULL DEFAULT FALSE, -- readable only by item_access grantees and the author
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    edited_by     TEXT REFERENCES users (id) ON DELETE SET NULL,
    deleted_at    BIGINT,
    search_extra  TEXT NOT NULL DEFAULT ''
);
INSERT INTO items_new (seq, id, kind, owner, space_id, author_id, parent_id, position, title, body, comments_text, tags,
    mentions, comment_count, restricted, created_at, updated_at, edited_by, deleted_at, search_extra)
SELECT seq, id, kind, owner, space_id, author_id, parent_id, position, title, body, comments_text, tags,
    mentions, comment_count, restricted, created_at, updated_at, edited_by, deleted_at, search_extra FROM items;
DROP TABLE items;
ALTER TABLE items_new RENAME TO items;
CREATE INDEX items_feed ON items (created_at DESC, id DESC);
CREATE INDEX items_space_feed ON items (space_id, created_at DESC, id DESC);
CREATE INDEX items_pages ON items (space_id, parent_id, position) WHERE kind = 'page';
CREATE INDEX items_parent ON items (parent_id) WHERE parent_id IS NOT NULL;
CREATE INDEX items_author ON items (author_id);
CREATE INDEX items_trash ON items (deleted_at) WHERE deleted_at IS NOT NULL;
-- +goose StatementBegin
CREATE TRIGGER items_fts_insert AFTER INSERT ON items BEGIN
    INSERT INTO items_fts (rowid, title, body, comments)
    VALUES (new.seq, trim(new.title || ' ' || new.search_extra), new.body, new.comments_text);
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER items_fts_update AFTER UPDATE OF title, body, comments_text, search_extra ON items BEGIN
    UPDATE items_fts SET title = trim(new.title || ' ' || new.search_extra), body = new.body, comments = new.comments_text
    WHERE rowid = new.seq;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER items_fts_delete AFTER DELETE ON items BEGIN
    DELETE FROM items_fts WHERE rowid = old.seq;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER items_deleted_event AFTER DELETE ON items BEGIN
    INSERT INTO events (id, type, item_id, space_id, payload, created_at)
    VALUES (lower(hex(randomblob(16))), 'item.deleted', old.id, COALESCE(old.space_id, ''),
            json_object('kind', old.kind, 'owner', old.owner), CAST(unixepoch('subsec') * 1000000 AS INTEGER));
END;
-- +goose StatementEnd
COMMIT;
PRAGMA foreign_keys = ON;

-- +goose Down
-- Items outside spaces cannot go back: they are deleted (with foreign keys on, so what
-- hangs on them goes too, and plugins hear item.deleted), then items is rebuilt as
-- before.
DELETE FROM items WHERE space_id IS NULL;
PRAGMA foreign_keys = OFF;
BEGIN;
CREATE TABLE items_old (
    seq           INTEGER PRIMARY KEY,
    id            TEXT NOT NULL UNIQUE,
    kind          TEXT NOT NULL,
    owner         TEXT NOT NULL DEFAULT 'core', -- "core" or a plugin's name
    space_id      TEXT NOT NULL REFERENCES spaces (id) ON DELETE CASCADE,
    author_id     TEXT REFERENCES users (id) ON DELETE SET NULL,
    parent_id     TEXT REFERENCES items (id) ON DELETE SET NULL, -- pages: the knowledge map
    position      INTEGER NOT NULL DEFAULT 0,
    title         TEXT NOT NULL DEFAULT '',
    body          TEXT NOT NULL DEFAULT '',
    comments_text TEXT NOT NULL DEFAULT '', -- the comments' bodies, for search
    tags          TEXT NOT NULL DEFAULT '[]', -- JSON array
    mentions      TEXT NOT NULL DEFAULT '[]', -- JSON array of user ids
    comment_count INTEGER NOT NULL DEFAULT 0,
    restricted    BOOLEAN NOT NULL DEFAULT FALSE, -- readable only by item_access grantees and the author
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    edited_by     TEXT REFERENCES users (id) ON DELETE SET NULL,
    deleted_at    BIGINT,
    search_extra  TEXT NOT NULL DEFAULT ''
);
INSERT INTO items_old (seq, id, kind, owner, space_id, author_id, parent_id, position, title, body, comments_text, tags,
    mentions, comment_count, restricted, created_at, updated_at, edited_by, deleted_at, search_extra)
SELECT seq, id, kind, owner, space_id, author_id, parent_id, position, title, body, comments_text, tags,
    mentions, comment_count, restricted, created_at, updated_at, edited_by, deleted_at, search_extra FROM items;
DROP TABLE items;
ALTER TABLE items_old RENAME TO items;
CREATE INDEX items_feed ON items (created_at DESC, id DESC);
CREATE INDEX items_space_feed ON items (space_id, created_at DESC, id DESC);
CREATE INDEX items_pages ON items (space_id, parent_id, position) WHERE kind = 'page';
CREATE INDEX items_parent ON items (parent_id) WHERE parent_id IS NOT NULL;
CREATE INDEX items_author ON items (author_id);
CREATE INDEX items_trash ON items (deleted_at) WHERE deleted_at IS NOT NULL;
-- +goose StatementBegin
CREATE TRIGGER items_fts_insert AFTER INSERT ON items BEGIN
    INSERT INTO items_fts (rowid, title, body, comments)
    VALUES (new.seq, trim(new.title || ' ' || new.search_extra), new.body, new.comments_text);
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER items_fts_update AFTER UPDATE OF title, body, comments_text, search_extra ON items BEGIN
    UPDATE items_fts SET title = trim(new.title || ' ' || new.search_extra), body = new.body, comments = new.comments_text
    WHERE rowid = new.seq;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER items_fts_delete AFTER DELETE ON items BEGIN
    DELETE FROM items_fts WHERE rowid = old.seq;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER items_deleted_event AFTER DELETE ON items BEGIN
    INSERT INTO events (id, type, item_id, space_id, payload, created_at)
    VALUES (lower(hex(randomblob(16))), 'item.deleted', old.id, old.space_id,
            json_object('kind', old.kind, 'owner', old.owner), CAST(unixepoch('subsec') * 1000000 AS INTEGER));
END;
-- +goose StatementEnd
COMMIT;
PRAGMA foreign_keys = ON;
