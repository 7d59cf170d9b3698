// Package loginguard limits password logins before they reach the
// password hash: failed logins are rate-limited per source address and per
// user (token buckets in bounded tables), and password checks run a few at
// a time from a bounded queue that serves the cleanest sources first, so a
// flood of wrong passwords from some addresses does not delay a real user
// logging in from another. A refused login is held briefly (a tarpit) so
// that refusing costs less than the flood. Everything is in memory, per
// process.
package loginguard
