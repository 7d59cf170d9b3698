-- 0002: the built-in identity service (identity.Store).
--
-- IDs are given by the caller (Keystone's 32-character hex, or a chosen
-- one such as "default"). Names are compared byte for byte (BINARY), so
-- "Admin" and "admin" are two roles. Booleans are 0 or 1. Times are
-- microseconds since the Unix epoch, UTC. Every foreign key column has an
-- index (a UNIQUE or PRIMARY KEY prefix serves), so deleting a parent does
-- not scan the child table. The store connections run foreign_keys=ON.

CREATE TABLE domains (
    id      TEXT    NOT NULL PRIMARY KEY,
    name    TEXT    NOT NULL COLLATE BINARY UNIQUE,
    enabled INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1))
);

CREATE TABLE projects (
    id          TEXT    NOT NULL PRIMARY KEY,
    name        TEXT    NOT NULL COLLATE BINARY,
    domain_id   TEXT    NOT NULL REFERENCES domains (id),
    description TEXT    NOT NULL DEFAULT '',
    enabled     INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    UNIQUE (domain_id, name)
);
CREATE INDEX projects_name ON projects (name);

CREATE TABLE users (
    id            TEXT    NOT NULL PRIMARY KEY,
    name          TEXT    NOT NULL COLLATE BINARY,
    domain_id     TEXT    NOT NULL REFERENCES domains (id),
    password_hash TEXT    NOT NULL DEFAULT '',
    enabled       INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    UNIQUE (domain_id, name)
);
CREATE INDEX users_name ON users (name);

CREATE TABLE roles (
    id   TEXT NOT NULL PRIMARY KEY,
    name TEXT NOT NULL COLLATE BINARY UNIQUE
);

CREATE TABLE assignments (
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    role_id    TEXT NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, project_id, role_id)
) WITHOUT ROWID;
CREATE INDEX assignments_project ON assignments (project_id, user_id);
CREATE INDEX assignments_role ON assignments (role_id);

-- sealed_secret is the secret key sealed with the credential key; the
-- plaintext secret is never stored.
CREATE TABLE ec2_credentials (
    access        TEXT    NOT NULL PRIMARY KEY,
    sealed_secret BLOB    NOT NULL,
    user_id       TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    project_id    TEXT    NOT NULL REFERENCES projects (id),
    created_at    INTEGER NOT NULL
);
CREATE INDEX ec2_credentials_user ON ec2_credentials (user_id, created_at, access);
CREATE INDEX ec2_credentials_project ON ec2_credentials (project_id);

-- A revoked token, by audit id, until it would have expired anyway.
CREATE TABLE revocations (
    audit_id   TEXT    NOT NULL PRIMARY KEY,
    expires_at INTEGER NOT NULL
);
CREATE INDEX revocations_expires_at ON revocations (expires_at);
