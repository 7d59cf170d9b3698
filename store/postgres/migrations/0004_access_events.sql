-- 0004: access events (identity.AccessEvent). A row says that the tokens
-- of its subject issued before not_before (microseconds since the Unix
-- epoch, UTC) are no longer valid: a user disabled, deleted or given a new
-- password, a project or domain disabled, a role removed from a user on a
-- project (subject "user-id/project-id"). One row per subject: a later
-- event moves not_before forward. No foreign keys: a deleted user's event
-- must outlive the user.
CREATE TABLE access_events (
    kind       TEXT COLLATE "C" NOT NULL CHECK (kind IN ('user', 'project', 'domain', 'grant')),
    subject    TEXT COLLATE "C" NOT NULL,
    not_before BIGINT NOT NULL,
    PRIMARY KEY (kind, subject)
);
CREATE INDEX access_events_not_before ON access_events (not_before);

-- What is disabled is read every few seconds by every instance
-- (identity.Store.Access): these indexes hold only the disabled rows, so
-- that read does not scan every user and project.
CREATE INDEX users_disabled ON users (id) WHERE enabled = FALSE;
CREATE INDEX projects_disabled ON projects (id) WHERE enabled = FALSE;
