// Package pgtest runs a throwaway PostgreSQL server for tests: Debian's
// postgresql package (bookworm: PostgreSQL 15), a cluster made with initdb
// in a fresh temporary directory and served by pg_ctl on a Unix socket in
// that directory only (no TCP port, so nothing clashes with another server
// or test binary). Durability is switched off (fsync, synchronous_commit,
// full_page_writes) because the data is thrown away.
//
// Start shares one server among all the tests of a test binary: it is
// started on first use, in a second or two, and a watchdog process stops
// it and removes its directory when the binary exits, however it exits.
// NewDatabase gives each test an empty database of its own on that server.
// When run as root, initdb and the server run as the postgres user, which
// owns the directory.
//
// Start skips the test when PostgreSQL is not installed
// (scripts/postgres-test-deps.sh installs it), unless
// KEYHAVEN_REQUIRE_POSTGRES=1, which makes it fail instead.
//
// Import it from tests only.
package pgtest
