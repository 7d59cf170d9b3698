-- 0003: KPS key pairs (uid, domain sharing, algorithm, description,
-- escrowed private keys) and the append-only, hash-chained audit log.
--
-- SQLite cannot add a NOT NULL column without a default, nor CHECK
-- constraints spanning columns, so key_pairs is rebuilt: a new table is
-- filled from the old one (same ids), the old one dropped and the new one
-- renamed. No table references key_pairs, so nothing else changes.
--
-- key_pairs columns added:
--   uid          random immutable identity; existing rows get 32 hex digits
--   domain_id    the owner's domain ('' when unknown)
--   scope        'user' (owner only) or 'domain' (every user of domain_id)
--   algorithm    KPS's name for the key: rsa-2048, ed25519, ...
--   description  KPS's free text
--   updated_at   microseconds since the Unix epoch, UTC; existing rows get
--                created_at
--   escrow_ref   KMS key that wrapped the escrowed private key, NULL: none
--   escrow_blob  the sealed private key, NULL: none (both or neither set)
-- UNIQUE (user_id, name) stays: an owner's names are distinct whatever the
-- scope. A domain-scope name is also unique within its domain; the store
-- checks the rest of name resolution (user-scope names against names
-- shared with the owner's domain) in its create transaction.

CREATE TABLE key_pairs_new (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    uid         TEXT    NOT NULL CHECK (uid <> ''),
    user_id     TEXT    NOT NULL,
    project_id  TEXT    NOT NULL,
    domain_id   TEXT    NOT NULL DEFAULT '',
    name        TEXT    NOT NULL,
    type        TEXT    NOT NULL,
    scope       TEXT    NOT NULL DEFAULT 'user' CHECK (scope IN ('user', 'domain')),
    public_key  TEXT    NOT NULL,
    fingerprint TEXT    NOT NULL,
    algorithm   TEXT    NOT NULL DEFAULT '',
    description TEXT    NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    escrow_ref  TEXT,
    escrow_blob BLOB,
    UNIQUE (user_id, name),
    CHECK (scope = 'user' OR domain_id <> ''),
    CHECK ((escrow_ref IS NULL) = (escrow_blob IS NULL))
);

INSERT INTO key_pairs_new
    (id, uid, user_id, project_id, name, type, public_key, fingerprint, created_at, updated_at)
SELECT id, lower(hex(randomblob(16))), user_id, project_id, name, type, public_key, fingerprint,
       created_at, created_at
FROM key_pairs;

-- Carry AUTOINCREMENT's high-water mark over, so the id of a deleted key
-- pair is never handed out again (DROP TABLE forgets it, RENAME keeps it).
DELETE FROM sqlite_sequence WHERE name = 'key_pairs_new';
INSERT INTO sqlite_sequence (name, seq)
SELECT 'key_pairs_new', seq FROM sqlite_sequence WHERE name = 'key_pairs';

DROP TABLE key_pairs;
ALTER TABLE key_pairs_new RENAME TO key_pairs;

CREATE UNIQUE INDEX key_pairs_uid ON key_pairs (uid);
-- Domain lookups: key pairs shared with a domain, and every name in one.
CREATE INDEX key_pairs_domain ON key_pairs (domain_id, scope, name);
-- At most one key pair of a name is shared with a domain.
CREATE UNIQUE INDEX key_pairs_domain_shared ON key_pairs (domain_id, name) WHERE scope = 'domain';
-- Re-wrapping walks the escrowed key pairs in id order.
CREATE INDEX key_pairs_escrowed ON key_pairs (id) WHERE escrow_blob IS NOT NULL;

-- The audit log: every reveal of a private key and every change to the
-- escrowed copy. seq counts from 1 without gaps; hash is SHA-256 over
-- prev_hash and the entry (keypair.AuditEntry.ComputeHash), prev_hash the
-- previous entry's hash (32 zero bytes for the first). keypair_id is not a
-- foreign key: entries outlive their key pairs. Times are microseconds
-- since the Unix epoch, UTC.
CREATE TABLE audit_log (
    seq          INTEGER PRIMARY KEY,
    time         INTEGER NOT NULL,
    action       TEXT    NOT NULL,
    user_id      TEXT    NOT NULL,
    project_id   TEXT    NOT NULL,
    keypair_id   INTEGER NOT NULL,
    keypair_uid  TEXT    NOT NULL,
    keypair_name TEXT    NOT NULL,
    remote_addr  TEXT    NOT NULL,
    request_id   TEXT    NOT NULL,
    prev_hash    BLOB    NOT NULL CHECK (length(prev_hash) = 32),
    hash         BLOB    NOT NULL CHECK (length(hash) = 32)
);

-- Append-only: rows can be neither changed nor removed. The insert trigger
-- also keeps the chain whole: a new row must take the next seq and link to
-- the last row's hash, which refuses INSERT OR REPLACE of an old seq too
-- (REPLACE's implicit delete would not fire the delete trigger).
CREATE TRIGGER audit_log_append BEFORE INSERT ON audit_log
WHEN NEW.seq IS NOT (SELECT coalesce(max(seq), 0) + 1 FROM audit_log)
  OR NEW.prev_hash IS NOT coalesce((SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1), zeroblob(32))
BEGIN
    SELECT RAISE(ABORT, 'audit_log: an entry must take the next seq and link to the last hash');
END;

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only: entries cannot be changed');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only: entries cannot be deleted');
END;
