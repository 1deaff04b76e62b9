-- +goose Up
-- Items in the trash (documents deleted but not yet purged) keep their row with
-- deleted_at set; every read leaves them out. search_extra is more text to find an item
-- by that it does not show, such as a document's file name (weighted as the title).
ALTER TABLE items ADD COLUMN deleted_at BIGINT;
ALTER TABLE items ADD COLUMN search_extra TEXT NOT NULL DEFAULT '';

-- A document is an item of kind "document" with numbered versions; the bytes of each
-- version live in the blob store under blob_key, a key the server made.
CREATE TABLE documents (
    item_id         TEXT PRIMARY KEY REFERENCES items (id) ON DELETE CASCADE,
    current_version INTEGER NOT NULL,
    deleted_by      TEXT REFERENCES users (id) ON DELETE SET NULL
);

CREATE TABLE document_versions (
    document_id  TEXT NOT NULL REFERENCES documents (item_id) ON DELETE CASCADE,
    number       INTEGER NOT NULL,
    blob_key     TEXT NOT NULL UNIQUE,
    size         BIGINT NOT NULL,
    sha256       TEXT NOT NULL,
    content_type TEXT NOT NULL, -- sniffed from the bytes, never the client's claim
    filename     TEXT NOT NULL, -- made safe
    uploaded_by  TEXT REFERENCES users (id) ON DELETE SET NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (document_id, number)
);

-- Uploads in flight: the key is reserved here before the first byte goes out and the
-- row goes when the version commits. A row left behind (crash, or the store failed and
-- could not be cleaned) names a blob the sweeper deletes.
CREATE TABLE blob_uploads (
    blob_key   TEXT PRIMARY KEY,
    started_at BIGINT NOT NULL,
    touched_at BIGINT NOT NULL, -- the uploader's heartbeat
    abandoned  BOOLEAN NOT NULL DEFAULT FALSE
);

-- Blobs whose metadata is gone, waiting to be deleted from the store. A trigger fills it,
-- so every way a version goes (purge, deleting the item, deleting its space) is covered.
CREATE TABLE blob_trash (
    blob_key  TEXT PRIMARY KEY,
    queued_at BIGINT NOT NULL
);
-- +goose StatementBegin
CREATE FUNCTION document_versions_trash() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO blob_trash (blob_key, queued_at)
    VALUES (OLD.blob_key, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint)
    ON CONFLICT DO NOTHING;
    RETURN OLD;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER document_versions_trash AFTER DELETE ON document_versions
    FOR EACH ROW EXECUTE FUNCTION document_versions_trash();

-- Documents attached to posts and pages, in order.
CREATE TABLE item_attachments (
    item_id     TEXT NOT NULL REFERENCES items (id) ON DELETE CASCADE,
    document_id TEXT NOT NULL REFERENCES items (id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    PRIMARY KEY (item_id, document_id)
);
CREATE INDEX item_attachments_document ON item_attachments (document_id);
CREATE INDEX items_trash ON items (deleted_at) WHERE deleted_at IS NOT NULL;

-- +goose Down
DROP INDEX items_trash;
DROP TABLE item_attachments;
DROP TRIGGER document_versions_trash ON document_versions;
DROP FUNCTION document_versions_trash();
DROP TABLE blob_trash;
DROP TABLE blob_uploads;
DROP TABLE document_versions;
DROP TABLE documents;
ALTER TABLE items DROP COLUMN search_extra;
ALTER TABLE items DROP COLUMN deleted_at;
