-- +goose Up
-- Global roles: admin, manager, employee, external, and the ones managers add.
CREATE TABLE roles (
    name        TEXT PRIMARY KEY,
    title       TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    builtin     BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  BIGINT NOT NULL
);

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL, -- lower case
    name          TEXT NOT NULL,
    password_hash TEXT NOT NULL, -- argon2id, PHC string
    disabled      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE UNIQUE INDEX users_email ON users (email);

CREATE TABLE user_roles (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role    TEXT NOT NULL REFERENCES roles (name) ON DELETE CASCADE,
    PRIMARY KEY (user_id, role)
);
CREATE INDEX user_roles_role ON user_roles (role, user_id);

-- Bearer tokens: only the SHA-256 of the token is kept.
CREATE TABLE tokens (
    hash       TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX tokens_user ON tokens (user_id);
CREATE INDEX tokens_expires ON tokens (expires_at);

CREATE TABLE spaces (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    visibility  TEXT NOT NULL CHECK (visibility IN ('open', 'members', 'private')),
    created_by  TEXT REFERENCES users (id) ON DELETE SET NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX spaces_name ON spaces (name, id);

-- The roles an open space is opened to. No CASCADE from roles: deleting a role must not
-- silently turn "open to dept-x" into "open to every employee".
CREATE TABLE space_roles (
    space_id TEXT NOT NULL REFERENCES spaces (id) ON DELETE CASCADE,
    role     TEXT NOT NULL REFERENCES roles (name),
    PRIMARY KEY (space_id, role)
);
CREATE INDEX space_roles_role ON space_roles (role);

CREATE TABLE memberships (
    space_id   TEXT NOT NULL REFERENCES spaces (id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role       TEXT NOT NULL CHECK (role IN ('owner', 'moderator', 'member', 'reader')),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (space_id, user_id)
);
CREATE INDEX memberships_user ON memberships (user_id, space_id);

-- Casbin policy lines (p: permissions, g: role inheritance). Who holds which role is
-- not here: that lives in user_roles, memberships and space_roles.
CREATE TABLE casbin_rule (
    id    INTEGER PRIMARY KEY AUTOINCREMENT,
    ptype TEXT NOT NULL,
    v0    TEXT NOT NULL DEFAULT '',
    v1    TEXT NOT NULL DEFAULT '',
    v2    TEXT NOT NULL DEFAULT '',
    v3    TEXT NOT NULL DEFAULT '',
    v4    TEXT NOT NULL DEFAULT '',
    v5    TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX casbin_rule_line ON casbin_rule (ptype, v0, v1, v2, v3, v4, v5);

-- +goose Down
DROP TABLE casbin_rule;
DROP TABLE memberships;
DROP TABLE space_roles;
DROP TABLE spaces;
DROP TABLE tokens;
DROP TABLE user_roles;
DROP TABLE users;
DROP TABLE roles;
