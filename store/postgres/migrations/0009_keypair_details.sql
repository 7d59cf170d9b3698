-- 0007: what keyhaven's own API (/keyhaven/v1) adds to a key pair, in
-- tables beside key_pairs so that Nova's and KPS's reads stay as they are.
-- Both reference key_pairs (ON DELETE CASCADE: a deleted key pair takes
-- its details along), so a later rebuild of key_pairs (as 0003 did) must
-- rebuild these too.
--
-- key_pair_tags: up to 50 key=value tags per key pair (the domain checks
-- the limits), keys unique per key pair; the (tag_key, tag_value) index
-- serves the tag filters.
CREATE TABLE key_pair_tags (
    key_pair_id BIGINT NOT NULL REFERENCES key_pairs (id) ON DELETE CASCADE,
    tag_key     TEXT COLLATE "C" NOT NULL,
    tag_value   TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (key_pair_id, tag_key)
);
CREATE INDEX key_pair_tags_kv ON key_pair_tags (tag_key, tag_value);

-- key_pair_lifecycle: at most one row per key pair.
--   expires_at            when the service deletes the key pair,
--                         microseconds since the Unix epoch, UTC; NULL: never
--   previous_public_key   the key material the last rotation replaced, kept
--   previous_fingerprint  for a grace period (all four set, or none)
--   previous_algorithm
--   previous_rotated_at   microseconds since the Unix epoch, UTC
CREATE TABLE key_pair_lifecycle (
    key_pair_id          BIGINT PRIMARY KEY REFERENCES key_pairs (id) ON DELETE CASCADE,
    expires_at           BIGINT,
    previous_public_key  TEXT,
    previous_fingerprint TEXT,
    previous_algorithm   TEXT,
    previous_rotated_at  BIGINT,
    CHECK ((previous_public_key IS NULL) = (previous_rotated_at IS NULL))
);
CREATE INDEX key_pair_lifecycle_expires ON key_pair_lifecycle (expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX key_pair_lifecycle_rotated ON key_pair_lifecycle (previous_rotated_at) WHERE previous_rotated_at IS NOT NULL;
