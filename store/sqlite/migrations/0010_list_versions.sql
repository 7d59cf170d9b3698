-- 0010 (SQLite only; PostgreSQL keeps no list cache, so the next migration
-- of both engines is 0011): versions that change whenever what a list
-- shows could change, so that the store can keep list pages in memory and
-- check them with one small read (listcache.go) instead of reading a page
-- of rows again. Triggers keep them in the transaction of every change of
-- key_pairs, whatever statement or process makes it.
--   key_pair_counts.version         bumped by every insert, delete and
--                                   change of a listed column of one of
--                                   the user's key pairs
--   key_pair_domain_versions        the same for the key pairs shared with
--                                   a domain (scope 'domain'), per domain
-- A user or domain without a row reads as version 0; a row starts at 1.
ALTER TABLE key_pair_counts ADD COLUMN version INTEGER NOT NULL DEFAULT 1;

CREATE TABLE key_pair_domain_versions (
    domain_id TEXT    NOT NULL PRIMARY KEY,
    version   INTEGER NOT NULL
) WITHOUT ROWID;

DROP TRIGGER key_pair_counts_insert;
CREATE TRIGGER key_pair_counts_insert AFTER INSERT ON key_pairs
BEGIN
    INSERT INTO key_pair_counts (user_id, n, version) VALUES (NEW.user_id, 1, 1)
    ON CONFLICT (user_id) DO UPDATE SET n = n + 1, version = version + 1;
END;

DROP TRIGGER key_pair_counts_delete;
CREATE TRIGGER key_pair_counts_delete AFTER DELETE ON key_pairs
BEGIN
    UPDATE key_pair_counts SET n = n - 1, version = version + 1 WHERE user_id = OLD.user_id;
END;

DROP TRIGGER key_pair_counts_owner;
CREATE TRIGGER key_pair_counts_owner AFTER UPDATE OF user_id ON key_pairs
WHEN NEW.user_id IS NOT OLD.user_id
BEGIN
    UPDATE key_pair_counts SET n = n - 1, version = version + 1 WHERE user_id = OLD.user_id;
    INSERT INTO key_pair_counts (user_id, n, version) VALUES (NEW.user_id, 1, 1)
    ON CONFLICT (user_id) DO UPDATE SET n = n + 1, version = version + 1;
END;

-- A change of what a list shows of a key pair that keeps its owner (the
-- owner trigger above covers a new owner). escrow_ref rather than its
-- nullness: a rewrap bumps too, which costs a cache miss and nothing else.
CREATE TRIGGER key_pair_versions_update
AFTER UPDATE OF name, type, scope, public_key, fingerprint, escrow_ref, domain_id ON key_pairs
BEGIN
    UPDATE key_pair_counts SET version = version + 1 WHERE user_id = NEW.user_id;
END;

CREATE TRIGGER key_pair_domain_versions_insert AFTER INSERT ON key_pairs
WHEN NEW.scope = 'domain'
BEGIN
    INSERT INTO key_pair_domain_versions (domain_id, version) VALUES (NEW.domain_id, 1)
    ON CONFLICT (domain_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER key_pair_domain_versions_delete AFTER DELETE ON key_pairs
WHEN OLD.scope = 'domain'
BEGIN
    INSERT INTO key_pair_domain_versions (domain_id, version) VALUES (OLD.domain_id, 1)
    ON CONFLICT (domain_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER key_pair_domain_versions_update
AFTER UPDATE OF user_id, name, type, scope, public_key, fingerprint, escrow_ref, domain_id ON key_pairs
WHEN OLD.scope = 'domain' OR NEW.scope = 'domain'
BEGIN
    INSERT INTO key_pair_domain_versions (domain_id, version) VALUES (OLD.domain_id, 1)
    ON CONFLICT (domain_id) DO UPDATE SET version = version + 1;
    INSERT INTO key_pair_domain_versions (domain_id, version) VALUES (NEW.domain_id, 1)
    ON CONFLICT (domain_id) DO UPDATE SET version = version + 1;
END;
