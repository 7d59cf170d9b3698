-- 0002: the built-in identity service (identity.Store), as SQLite's 0002.
--
-- IDs are given by the caller. Names and ids are COLLATE "C": compared and
-- sorted byte for byte, so "Admin" and "admin" are two roles. Times are
-- microseconds since the Unix epoch, UTC. Every foreign key column has an
-- index (a UNIQUE or PRIMARY KEY prefix serves).

CREATE TABLE domains (
    id      TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    name    TEXT COLLATE "C" NOT NULL UNIQUE,
    enabled BOOLEAN NOT NULL DEFAULT TRUE
);

CREATE TABLE projects (
    id          TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    name        TEXT COLLATE "C" NOT NULL,
    domain_id   TEXT COLLATE "C" NOT NULL REFERENCES domains (id),
    description TEXT NOT NULL DEFAULT '',
    enabled     BOOLEAN NOT NULL DEFAULT TRUE,
    UNIQUE (domain_id, name)
);
CREATE INDEX projects_name ON projects (name);

CREATE TABLE users (
    id            TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    name          TEXT COLLATE "C" NOT NULL,
    domain_id     TEXT COLLATE "C" NOT NULL REFERENCES domains (id),
    password_hash TEXT NOT NULL DEFAULT '',
    enabled       BOOLEAN NOT NULL DEFAULT TRUE,
    UNIQUE (domain_id, name)
);
CREATE INDEX users_name ON users (name);

CREATE TABLE roles (
    id   TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    name TEXT COLLATE "C" NOT NULL UNIQUE
);

CREATE TABLE assignments (
    user_id    TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    project_id TEXT COLLATE "C" NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    role_id    TEXT COLLATE "C" NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, project_id, role_id)
);
CREATE INDEX assignments_project ON assignments (project_id, user_id);
CREATE INDEX assignments_role ON assignments (role_id);

-- sealed_secret is the secret key sealed with the credential key; the
-- plaintext secret is never stored.
CREATE TABLE ec2_credentials (
    access        TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    sealed_secret BYTEA NOT NULL,
    user_id       TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    project_id    TEXT COLLATE "C" NOT NULL REFERENCES projects (id),
    created_at    BIGINT NOT NULL
);
CREATE INDEX ec2_credentials_user ON ec2_credentials (user_id, created_at, access);
CREATE INDEX ec2_credentials_project ON ec2_credentials (project_id);

-- A revoked token, by audit id, until it would have expired anyway.
CREATE TABLE revocations (
    audit_id   TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
CREATE INDEX revocations_expires_at ON revocations (expires_at);
