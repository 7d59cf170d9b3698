// Package task owns the association of key pairs with servers: the server
// inventory keyhaven may log in to, and the durable tasks (BIND, REPLACE,
// RESET, UNBIND) that put a key pair's public key on a server, swap it or
// take it off again. It holds the types, the state machine, the ports the
// adapters implement (Store: store/sqlite, store/postgres; Executor:
// sshpush, which does the SSH work) and Service, which applies the rules
// to requests and, in Run, is the worker pool that does this instance's
// tasks. It never speaks HTTP, SQL or the SSH protocol; it only parses a
// login key to learn its public half.
//
// Credentials a caller gives for a task (a password, a private key) live
// only in memory, in the instance that accepted the request, while the
// task waits and runs; they are never stored, logged or put in an error.
package task
