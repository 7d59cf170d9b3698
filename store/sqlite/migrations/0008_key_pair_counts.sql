-- 0007: how many key pairs each user owns, so that the quota check and
-- CountKeyPairs read one row instead of counting the owner's rows (a cost
-- that grew with every key pair the user had). Triggers keep it in the
-- same transaction as every insert, delete and change of owner of a key
-- pair, whatever statement makes it (the store's, a migration's, an
-- operator's); it starts from the rows already there.
--   user_id  the owner (key_pairs.user_id)
--   n        how many key pairs of key_pairs have that user_id (> 0 or
--            0 after deletes; a user with no row owns none)
CREATE TABLE key_pair_counts (
    user_id TEXT    NOT NULL PRIMARY KEY,
    n       INTEGER NOT NULL CHECK (n >= 0)
) WITHOUT ROWID;

INSERT INTO key_pair_counts (user_id, n)
SELECT user_id, count(*) FROM key_pairs GROUP BY user_id;

CREATE TRIGGER key_pair_counts_insert AFTER INSERT ON key_pairs
BEGIN
    INSERT INTO key_pair_counts (user_id, n) VALUES (NEW.user_id, 1)
    ON CONFLICT (user_id) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER key_pair_counts_delete AFTER DELETE ON key_pairs
BEGIN
    UPDATE key_pair_counts SET n = n - 1 WHERE user_id = OLD.user_id;
END;

CREATE TRIGGER key_pair_counts_owner AFTER UPDATE OF user_id ON key_pairs
WHEN NEW.user_id IS NOT OLD.user_id
BEGIN
    UPDATE key_pair_counts SET n = n - 1 WHERE user_id = OLD.user_id;
    INSERT INTO key_pair_counts (user_id, n) VALUES (NEW.user_id, 1)
    ON CONFLICT (user_id) DO UPDATE SET n = n + 1;
END;
