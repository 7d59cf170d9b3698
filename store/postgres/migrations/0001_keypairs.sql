-- 0001: the key_pairs table, in the shape SQLite's 0001 and 0003 reach.
--
-- Text compared or sorted is COLLATE "C", so names compare and sort byte
-- for byte whatever the database's default collation ("Key" and "key" are
-- two key pairs). Times are microseconds since the Unix epoch, UTC, so
-- they round-trip exactly. id is a bigserial: never reused, gaps allowed
-- (a rolled-back insert consumes a value).
--
-- UNIQUE (user_id, name): an owner's names are distinct whatever the
-- scope. key_pairs_domain_shared: at most one key pair of a name is shared
-- with a domain. The rest of name resolution (a user-scope name against
-- the names shared with the owner's domain, a domain-scope name against
-- every name in the domain) is checked by the create transaction under
-- advisory locks (see the package documentation).
CREATE TABLE key_pairs (
    id          BIGSERIAL PRIMARY KEY,
    uid         TEXT COLLATE "C" NOT NULL CHECK (uid <> ''),
    user_id     TEXT COLLATE "C" NOT NULL,
    project_id  TEXT COLLATE "C" NOT NULL,
    domain_id   TEXT COLLATE "C" NOT NULL DEFAULT '',
    name        TEXT COLLATE "C" NOT NULL,
    type        TEXT NOT NULL,
    scope       TEXT NOT NULL DEFAULT 'user' CHECK (scope IN ('user', 'domain')),
    public_key  TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    algorithm   TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    escrow_ref  TEXT,
    escrow_blob BYTEA,
    CONSTRAINT key_pairs_user_name UNIQUE (user_id, name),
    CHECK (scope = 'user' OR domain_id <> ''),
    CHECK ((escrow_ref IS NULL) = (escrow_blob IS NULL))
);

CREATE UNIQUE INDEX key_pairs_uid ON key_pairs (uid);
-- Domain lookups: key pairs shared with a domain, and every name in one.
CREATE INDEX key_pairs_domain ON key_pairs (domain_id, name, scope);
CREATE UNIQUE INDEX key_pairs_domain_shared ON key_pairs (domain_id, name) WHERE scope = 'domain';
-- Re-wrapping walks the escrowed key pairs in id order.
CREATE INDEX key_pairs_escrowed ON key_pairs (id) WHERE escrow_blob IS NOT NULL;
