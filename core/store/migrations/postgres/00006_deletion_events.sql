-- +goose Up
-- Deletions reach plugins through the events outbox, recorded by trigger in the
-- transaction that deletes: every path is covered (an API call, a space deleted with
-- its items, a purge), and no event is recorded for a deletion that rolled back.
-- +goose StatementBegin
CREATE FUNCTION deletion_event() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    now_us BIGINT := (extract(epoch FROM clock_timestamp()) * 1000000)::bigint;
    ev_id  TEXT := md5(random()::text || clock_timestamp()::text || TG_TABLE_NAME || OLD.id);
BEGIN
    IF TG_TABLE_NAME = 'items' THEN
        INSERT INTO events (id, type, item_id, space_id, payload, created_at)
        VALUES (ev_id, 'item.deleted', OLD.id, OLD.space_id, json_build_object('kind', OLD.kind, 'owner', OLD.owner)::text, now_us);
    ELSIF TG_TABLE_NAME = 'users' THEN
        INSERT INTO events (id, type, payload, created_at)
        VALUES (ev_id, 'user.deleted', json_build_object('user_id', OLD.id)::text, now_us);
    ELSE
        INSERT INTO events (id, type, space_id, created_at) VALUES (ev_id, 'space.deleted', OLD.id, now_us);
    END IF;
    RETURN OLD;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER items_deleted_event AFTER DELETE ON items FOR EACH ROW EXECUTE FUNCTION deletion_event();
CREATE TRIGGER users_deleted_event AFTER DELETE ON users FOR EACH ROW EXECUTE FUNCTION deletion_event();
CREATE TRIGGER spaces_deleted_event AFTER DELETE ON spaces FOR EACH ROW EXECUTE FUNCTION deletion_event();

-- +goose Down
DROP TRIGGER spaces_deleted_event ON spaces;
DROP TRIGGER users_deleted_event ON users;
DROP TRIGGER items_deleted_event ON items;
DROP FUNCTION deletion_event();
