-- 0001: the key_pairs table.
--
-- Names are unique per user and compared byte for byte (SQLite's default
-- BINARY collation), so "Key" and "key" are two key pairs. The unique
-- index on (user_id, name) also serves listing by name and counting.
-- created_at is microseconds since the Unix epoch, UTC.
-- Later migrations add columns (escrow blobs, KPS scope) with ALTER TABLE.
CREATE TABLE key_pairs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id     TEXT    NOT NULL,
    project_id  TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    type        TEXT    NOT NULL,
    public_key  TEXT    NOT NULL,
    fingerprint TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    UNIQUE (user_id, name)
);
