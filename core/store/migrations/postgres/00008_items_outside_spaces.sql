-- +goose Up
-- An item may live outside every space (space_id NULL): a plugin's object that only the
-- grantees of its restriction read, such as a project without a space. Its deletion
-- event carries '' for the space.
ALTER TABLE items ALTER COLUMN space_id DROP NOT NULL;
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION deletion_event() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    now_us BIGINT := (extract(epoch FROM clock_timestamp()) * 1000000)::bigint;
    ev_id  TEXT := md5(random()::text || clock_timestamp()::text || TG_TABLE_NAME || OLD.id);
BEGIN
    IF TG_TABLE_NAME = 'items' THEN
        INSERT INTO events (id, type, item_id, space_id, payload, created_at)
        VALUES (ev_id, 'item.deleted', OLD.id, COALESCE(OLD.space_id, ''),
                json_build_object('kind', OLD.kind, 'owner', OLD.owner)::text, now_us);
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

-- +goose Down
-- Items outside spaces cannot go back: they are deleted (plugins hear item.deleted).
DELETE FROM items WHERE space_id IS NULL;
ALTER TABLE items ALTER COLUMN space_id SET NOT NULL;
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION deletion_event() RETURNS trigger LANGUAGE plpgsql AS $$
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
