-- +goose Up
-- Deletions reach plugins through the events outbox, recorded by trigger in the
-- transaction that deletes: every path is covered (an API call, a space deleted with
-- its items, a purge), and no event is recorded for a deletion that rolled back.
-- +goose StatementBegin
CREATE TRIGGER items_deleted_event AFTER DELETE ON items BEGIN
    INSERT INTO events (id, type, item_id, space_id, payload, created_at)
    VALUES (lower(hex(randomblob(16))), 'item.deleted', old.id, old.space_id,
            json_object('kind', old.kind, 'owner', old.owner), CAST(unixepoch('subsec') * 1000000 AS INTEGER));
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER users_deleted_event AFTER DELETE ON users BEGIN
    INSERT INTO events (id, type, payload, created_at)
    VALUES (lower(hex(randomblob(16))), 'user.deleted', json_object('user_id', old.id), CAST(unixepoch('subsec') * 1000000 AS INTEGER));
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER spaces_deleted_event AFTER DELETE ON spaces BEGIN
    INSERT INTO events (id, type, space_id, created_at)
    VALUES (lower(hex(randomblob(16))), 'space.deleted', old.id, CAST(unixepoch('subsec') * 1000000 AS INTEGER));
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER spaces_deleted_event;
DROP TRIGGER users_deleted_event;
DROP TRIGGER items_deleted_event;
