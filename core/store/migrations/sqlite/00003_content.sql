-- +goose Up
-- Every piece of content is an item, whoever owns it (the core or a plugin). seq is the
-- rowid, which the full-text index is keyed on; id is what the API shows.
CREATE TABLE items (
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
    edited_by     TEXT REFERENCES users (id) ON DELETE SET NULL
);
CREATE INDEX items_feed ON items (created_at DESC, id DESC);
CREATE INDEX items_space_feed ON items (space_id, created_at DESC, id DESC);
CREATE INDEX items_pages ON items (space_id, parent_id, position) WHERE kind = 'page';
CREATE INDEX items_parent ON items (parent_id) WHERE parent_id IS NOT NULL;
CREATE INDEX items_author ON items (author_id);

-- Who may read a restricted item: "user:<id>" or "role:<name>".
CREATE TABLE item_access (
    item_id TEXT NOT NULL REFERENCES items (id) ON DELETE CASCADE,
    grantee TEXT NOT NULL,
    PRIMARY KEY (item_id, grantee)
);
CREATE INDEX item_access_grantee ON item_access (grantee, item_id);

CREATE TABLE item_tags (
    item_id TEXT NOT NULL REFERENCES items (id) ON DELETE CASCADE,
    tag     TEXT NOT NULL,
    PRIMARY KEY (tag, item_id)
);
CREATE INDEX item_tags_item ON item_tags (item_id);

CREATE TABLE comments (
    id         TEXT PRIMARY KEY,
    item_id    TEXT NOT NULL REFERENCES items (id) ON DELETE CASCADE,
    parent_id  TEXT REFERENCES comments (id) ON DELETE CASCADE, -- one level of replies
    author_id  TEXT REFERENCES users (id) ON DELETE SET NULL,
    body       TEXT NOT NULL,
    mentions   TEXT NOT NULL DEFAULT '[]',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    edited     BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX comments_item ON comments (item_id, created_at, id);
CREATE INDEX comments_parent ON comments (parent_id) WHERE parent_id IS NOT NULL;

-- Who was @mentioned where (notifications come later).
CREATE TABLE mentions (
    source_id  TEXT NOT NULL, -- the item or comment that mentions
    item_id    TEXT NOT NULL REFERENCES items (id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (source_id, user_id)
);
CREATE INDEX mentions_user ON mentions (user_id, created_at);
CREATE INDEX mentions_item ON mentions (item_id);

-- Full text over titles, bodies and comments, kept by triggers.
CREATE VIRTUAL TABLE items_fts USING fts5 (
    title, body, comments,
    tokenize = 'unicode61 remove_diacritics 2'
);

-- +goose StatementBegin
CREATE TRIGGER items_fts_insert AFTER INSERT ON items BEGIN
    INSERT INTO items_fts (rowid, title, body, comments) VALUES (new.seq, new.title, new.body, new.comments_text);
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER items_fts_update AFTER UPDATE OF title, body, comments_text ON items BEGIN
    UPDATE items_fts SET title = new.title, body = new.body, comments = new.comments_text WHERE rowid = new.seq;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER items_fts_delete AFTER DELETE ON items BEGIN
    DELETE FROM items_fts WHERE rowid = old.seq;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER items_fts_delete;
DROP TRIGGER items_fts_update;
DROP TRIGGER items_fts_insert;
DROP TABLE items_fts;
DROP TABLE mentions;
DROP TABLE comments;
DROP TABLE item_tags;
DROP INDEX item_access_grantee;
DROP TABLE item_access;
DROP TABLE items;
