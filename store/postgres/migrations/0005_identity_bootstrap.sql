-- 0005: the record that the built-in identity's bootstrap is done (as
-- SQLite's 0005).
--
-- At most one row (id 1), written in the bootstrap's own transaction,
-- naming the admin user and project it made or completed, and when
-- (microseconds since the Unix epoch, UTC). While it exists, a start
-- leaves the admin as operators have made it since: deleted, renamed or
-- without its role, it stays so. No foreign keys: deleting that user or
-- project must not drop the record. A database an older keyhaven
-- bootstrapped has no row, so its next start completes that bootstrap
-- once and writes it.

CREATE TABLE identity_bootstrap (
    id         INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    user_id    TEXT COLLATE "C" NOT NULL,
    project_id TEXT COLLATE "C" NOT NULL,
    done_at    BIGINT NOT NULL
);
