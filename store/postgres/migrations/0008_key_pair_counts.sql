-- 0007: how many key pairs each user owns, so that the quota check and
-- CountKeyPairs read one row instead of counting the owner's rows (a cost
-- that grew with every key pair the user had). Triggers keep it in the
-- same transaction as every insert, delete and change of owner of a key
-- pair, whatever statement makes it (the store's, COPY, an operator's);
-- it starts from the rows already there. The counter row is also a row
-- lock: two transactions changing one owner's count queue on it (creates
-- already queue on the owner's advisory lock).
--   user_id  the owner (key_pairs.user_id)
--   n        how many key pairs of key_pairs have that user_id (0 after
--            deletes; a user with no row owns none)
CREATE TABLE key_pair_counts (
    user_id TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    n       BIGINT NOT NULL CHECK (n >= 0)
);

LOCK TABLE key_pairs IN SHARE ROW EXCLUSIVE MODE;

INSERT INTO key_pair_counts (user_id, n)
SELECT user_id, count(*) FROM key_pairs GROUP BY user_id;

CREATE FUNCTION key_pair_counts_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        UPDATE key_pair_counts SET n = n - 1 WHERE user_id = OLD.user_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO key_pair_counts (user_id, n) VALUES (NEW.user_id, 1)
        ON CONFLICT (user_id) DO UPDATE SET n = key_pair_counts.n + 1;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER key_pair_counts_insert_delete AFTER INSERT OR DELETE ON key_pairs
FOR EACH ROW EXECUTE FUNCTION key_pair_counts_change();

CREATE TRIGGER key_pair_counts_owner AFTER UPDATE OF user_id ON key_pairs
FOR EACH ROW WHEN (NEW.user_id IS DISTINCT FROM OLD.user_id) EXECUTE FUNCTION key_pair_counts_change();

-- TRUNCATE fires no row trigger: empty the counters with it.
CREATE FUNCTION key_pair_counts_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM key_pair_counts;
    RETURN NULL;
END;
$$;

CREATE TRIGGER key_pair_counts_truncate AFTER TRUNCATE ON key_pairs
FOR EACH STATEMENT EXECUTE FUNCTION key_pair_counts_truncate();
