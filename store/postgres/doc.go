// Package postgres implements keypair.Store and identity.Store (the
// built-in identity service's domains, projects, users, roles, assignments,
// EC2 credentials and token revocations) on a PostgreSQL database, through
// a github.com/jackc/pgx/v5 connection pool. Several keyhaven instances may
// share one database.
//
// # Schema
//
// Migrations embedded in the binary (migrations/*.sql) create and upgrade
// the schema at Open, recorded in the schema_migrations table; Migrate runs
// them all in one transaction under a transaction-level advisory lock, so
// instances starting together do not race. Text that is compared or sorted
// is COLLATE "C" (byte order, as SQLite's BINARY), times are BIGINT
// microseconds since the Unix epoch (exact round-trips), blobs BYTEA, key
// pair ids a BIGSERIAL (never reused, possibly with gaps).
//
// # Concurrency
//
// Every transaction runs at READ COMMITTED. Name resolution across scopes
// (a user-scope name may not shadow one shared with the owner's domain, a
// domain-scope name may not equal any in the domain) and the quota are
// checked in the create's transaction after it takes
// pg_advisory_xact_lock on the owner and then on (domain, name): any two
// creates that could collide share one of these locks, so they run one
// after the other across all instances, and the later one's statements
// see the earlier one's committed row. Unique indexes back the checks
// up. This was chosen over SERIALIZABLE because it needs no retry loop and
// never fails a create spuriously; the price is that creates by one owner,
// or of one name in one domain, are serialised.
//
// The audit log is appended under its own advisory lock, so seq is
// gap-free and each entry links to the one before; triggers refuse any
// insert that does not continue the chain, and every UPDATE, DELETE and
// TRUNCATE. SwapEscrow reads the key pair FOR UPDATE. A write that changes
// an escrowed key appends its entry in its own transaction, taking the
// audit lock last (after any row or owner lock), so no two transactions
// wait on each other in a cycle.
//
// # Errors
//
// Domain outcomes are *keypair.Error values (ENOTFOUND, ECONFLICT, EQUOTA,
// EINVALID) or wrap identity.ErrNotFound and identity.ErrConflict; unique
// and foreign key violations map to those. Anything else, including a
// connection failure or a cancelled context, is a plain error wrapping
// pgx's. Errors never carry key material, password hashes or secrets.
//
// # Escrow and MVCC
//
// Clearing an escrowed private key sets its columns to NULL, and deleting
// a key pair deletes its row, but PostgreSQL keeps the old row version in
// the table's pages (and WAL, and any backups) until VACUUM reclaims it and
// the space is reused: unlike the SQLite engine's secure_delete and WAL
// truncation, sealed keys are not zeroed at once. docs/scaling.md says
// what the operator must do.
package postgres
