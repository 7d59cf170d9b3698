-- 0011 (SQLite only, as 0010; the next migration of both engines is
-- 0012): the versions of 0010 also change when a column no list shows
-- changes (description, updated_at, algorithm, the sealed private key),
-- so that the store can keep whole key pairs too and check them with the
-- same small read (getcache.go). A list page kept across such a change is
-- read again once, which costs a miss and nothing else.
DROP TRIGGER key_pair_versions_update;
CREATE TRIGGER key_pair_versions_update AFTER UPDATE ON key_pairs
BEGIN
    UPDATE key_pair_counts SET version = version + 1 WHERE user_id = NEW.user_id;
END;

DROP TRIGGER key_pair_domain_versions_update;
CREATE TRIGGER key_pair_domain_versions_update AFTER UPDATE ON key_pairs
WHEN OLD.scope = 'domain' OR NEW.scope = 'domain'
BEGIN
    INSERT INTO key_pair_domain_versions (domain_id, version) VALUES (OLD.domain_id, 1)
    ON CONFLICT (domain_id) DO UPDATE SET version = version + 1;
    INSERT INTO key_pair_domain_versions (domain_id, version) VALUES (NEW.domain_id, 1)
    ON CONFLICT (domain_id) DO UPDATE SET version = version + 1;
END;
