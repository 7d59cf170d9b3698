// Package keystonetest runs a real OpenStack Keystone for tests: the one in
// Debian's python3-keystone package (bookworm: 22.0.2, Zed), configured in a
// fresh temporary directory (SQLite database in WAL mode, Fernet tokens, its
// own key repositories), set up with keystone-manage (db_sync, fernet_setup,
// credential_setup, bootstrap) and served by keystone-wsgi-public, a
// single-threaded server, on a free 127.0.0.1 port. Debian's keystone
// service (package keystone) is neither needed nor used.
//
// Start shares one instance among all the tests of a test binary: it is
// started on first use, in about ten seconds, and a watchdog process stops
// it and removes its directory when the binary exits, however it exits.
// StartDedicated gives a test an instance of its own, stopped when the test
// ends. Both skip the test when python3-keystone is not installed
// (scripts/keystone-test-deps.sh installs it), unless
// KEYHAVEN_REQUIRE_KEYSTONE=1.
//
// The helpers (IssueToken, RevokeToken, CreateUser, CreateEC2, ...) call
// Keystone's API as its bootstrap admin and fail the test on any error.
//
// Import it from tests only.
package keystonetest
