// Package task owns the association of key pairs with servers: the server
// inventory keyhaven may log in to, and the durable tasks (BIND, REPLACE,
// RESET, UNBIND) that put a key pair's public key on a server, swap it or
// take it off again. It holds the types, the state machine and the ports
// the adapters implement: Store (store/sqlite, store/postgres) and Executor
// (sshpush, which does the SSH work). It never sees HTTP, SQL or SSH.
//
// Credentials a caller gives for a task (a password, a private key) live
// only in memory, in the instance that accepted the request, while the
// task waits and runs; they are never stored, logged or put in an error.
package task
