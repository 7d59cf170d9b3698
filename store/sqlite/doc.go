// Package sqlite implements keypair.Store and identity.Store (the built-in
// identity service's domains, projects, users, roles, assignments, EC2
// credentials and token revocations) on an SQLite database file using the
// pure-Go driver modernc.org/sqlite (see DRIVER.md for why).
//
// The database runs in WAL mode with synchronous=FULL, so a commit that has
// returned survives a crash or power loss. A Store holds two connection
// pools on the same file: a single writer connection through which every
// write goes in BEGIN IMMEDIATE transactions, so concurrent writers queue in
// Go instead of failing with SQLITE_BUSY, and a pool of query-only reader
// connections, which WAL lets run alongside the writer. The writer runs
// secure_delete=ON, so escrowed private keys that are cleared or deleted
// are zeroed in the file rather than left in free pages, and such a write
// returns once a TRUNCATE checkpoint has emptied the WAL of the old page
// images (scrub.go).
//
// Name resolution across scopes (a user-scope name may not shadow one
// shared with the owner's domain, a domain-scope name may not equal any in
// the domain) is checked inside the create's BEGIN IMMEDIATE transaction,
// which the write lock serialises across connections and processes. The
// audit log is a table that triggers keep append-only and chained; an
// escrow change appends its entry in its own transaction. The schema is
// created and upgraded at Open by migrations embedded in the binary and
// recorded in the schema_migrations table.
package sqlite
