-- +goose Up
-- Whether a plugin's default policy lines (its manifest's policies) were added to the
-- policy: once, when it first ran, so that a manager's later edits stand.
ALTER TABLE plugin_state ADD COLUMN policies_loaded BOOLEAN NOT NULL DEFAULT FALSE;

-- +goose Down
ALTER TABLE plugin_state DROP COLUMN policies_loaded;
