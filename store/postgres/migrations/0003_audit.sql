-- 0003: the append-only, hash-chained audit log, as in SQLite's 0003.
--
-- seq counts from 1 without gaps; hash is SHA-256 over prev_hash and the
-- entry (keypair.AuditEntry.ComputeHash), prev_hash the previous entry's
-- hash (32 zero bytes for the first). keypair_id is not a foreign key:
-- entries outlive their key pairs. at is microseconds since the Unix
-- epoch, UTC. The store serialises appends with a transaction-level
-- advisory lock.
CREATE TABLE audit_log (
    seq          BIGINT PRIMARY KEY CHECK (seq > 0),
    at           BIGINT NOT NULL,
    action       TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    project_id   TEXT NOT NULL,
    keypair_id   BIGINT NOT NULL,
    keypair_uid  TEXT NOT NULL,
    keypair_name TEXT NOT NULL,
    remote_addr  TEXT NOT NULL,
    request_id   TEXT NOT NULL,
    prev_hash    BYTEA NOT NULL CHECK (length(prev_hash) = 32),
    hash         BYTEA NOT NULL CHECK (length(hash) = 32)
);

-- Append-only: a new row must take the next seq and link to the last
-- row's hash; rows can be neither changed nor removed, nor the table
-- truncated. (A superuser or the table's owner can still disable the
-- triggers; the chain makes such tampering detectable.)
CREATE FUNCTION audit_log_append() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    last_seq  BIGINT;
    last_hash BYTEA;
BEGIN
    SELECT seq, hash INTO last_seq, last_hash FROM audit_log ORDER BY seq DESC LIMIT 1;
    IF NEW.seq IS DISTINCT FROM coalesce(last_seq, 0) + 1
       OR NEW.prev_hash IS DISTINCT FROM coalesce(last_hash, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea) THEN
        RAISE EXCEPTION 'audit_log: an entry must take the next seq and link to the last hash'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END;
$$;

CREATE FUNCTION audit_log_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: entries cannot be changed or deleted'
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER audit_log_append BEFORE INSERT ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append();
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_refuse();
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_refuse();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse();
