-- 0007: the server inventory and the association tasks (package task),
-- and the audit log's association fields.
--
-- servers: a server keyhaven may log in to. host_keys holds the pinned
-- host public keys, one authorized_keys line each, joined by newlines.
-- keypair_name, keypair_id, public_key and password_disabled say what is
-- associated with the server now ('' / 0: nothing). Times are
-- microseconds since the Unix epoch, UTC.
CREATE TABLE servers (
    id                TEXT    NOT NULL PRIMARY KEY CHECK (id <> ''),
    project_id        TEXT    NOT NULL CHECK (project_id <> ''),
    name              TEXT    NOT NULL DEFAULT '',
    address           TEXT    NOT NULL CHECK (address <> ''),
    port              INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),
    login_user        TEXT    NOT NULL CHECK (login_user <> ''),
    host_keys         TEXT    NOT NULL CHECK (host_keys <> ''),
    sshd_config       TEXT    NOT NULL DEFAULT '',
    keypair_name      TEXT    NOT NULL DEFAULT '',
    keypair_id        INTEGER NOT NULL DEFAULT 0,
    public_key        TEXT    NOT NULL DEFAULT '',
    password_disabled INTEGER NOT NULL DEFAULT 0 CHECK (password_disabled IN (0, 1)),
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX servers_project ON servers (project_id, id);

-- tasks: one durable association task. seq (AUTOINCREMENT: never reused)
-- orders them; id is the UUID clients poll, in canonical lower-case form.
-- server_id is not a foreign key: finished tasks outlive the inventory
-- entry, and the store refuses to remove a server with unfinished tasks.
-- Times are microseconds since the Unix epoch, UTC; 0 means not yet.
CREATE TABLE tasks (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    id               TEXT    NOT NULL UNIQUE CHECK (length(id) = 36),
    project_id       TEXT    NOT NULL,
    user_id          TEXT    NOT NULL,
    server_id        TEXT    NOT NULL,
    server_name      TEXT    NOT NULL DEFAULT '',
    keypair_name     TEXT    NOT NULL DEFAULT '',
    keypair_id       INTEGER NOT NULL DEFAULT 0,
    public_key       TEXT    NOT NULL DEFAULT '',
    operation        TEXT    NOT NULL CHECK (operation IN ('BIND', 'REPLACE', 'RESET', 'UNBIND')),
    phase            TEXT    NOT NULL CHECK (phase IN ('READY', 'RUNNING', 'SUCCESS', 'FAILED')),
    disable_password INTEGER NOT NULL DEFAULT 0 CHECK (disable_password IN (0, 1)),
    port             INTEGER NOT NULL DEFAULT 0 CHECK (port BETWEEN 0 AND 65535),
    owner            TEXT    NOT NULL,
    lease_until      INTEGER NOT NULL,
    error_code       TEXT    NOT NULL DEFAULT '',
    error_message    TEXT    NOT NULL DEFAULT '',
    created_at       INTEGER NOT NULL,
    started_at       INTEGER NOT NULL DEFAULT 0,
    finished_at      INTEGER NOT NULL DEFAULT 0
);
-- ClaimTask: an owner's READY tasks, oldest first.
CREATE INDEX tasks_claim ON tasks (phase, owner, seq);
-- ClaimTask, RemoveServer: a server's unfinished tasks, oldest first.
CREATE INDEX tasks_server_unfinished ON tasks (server_id, seq) WHERE phase IN ('READY', 'RUNNING');
-- ListTasks, DeleteFailedTasks: a project's tasks by phase.
CREATE INDEX tasks_project ON tasks (project_id, phase, seq);
-- FailExpired: unfinished tasks by lease.
CREATE INDEX tasks_lease ON tasks (lease_until) WHERE phase IN ('READY', 'RUNNING');
-- A server never runs two tasks at once, whatever a claim gets wrong.
CREATE UNIQUE INDEX tasks_one_running ON tasks (server_id) WHERE phase = 'RUNNING';

-- The audit log's association fields (keypair.AuditEntry): on which
-- server, by which task, with what result, and why it failed. Existing
-- entries get '' (hashed as before: ComputeHash skips empty ones). Adding
-- a column changes no row, so the append-only triggers do not fire.
ALTER TABLE audit_log ADD COLUMN server_id TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_log ADD COLUMN task_id   TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_log ADD COLUMN result    TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_log ADD COLUMN detail    TEXT NOT NULL DEFAULT '';
