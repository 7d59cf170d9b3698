// Package token issues and opens the built-in identity service's tokens.
// A token is self-contained, like Keystone's Fernet tokens: its payload
// (user, project, roles, methods, times, audit id) is sealed with
// AES-256-GCM under a key from a rotating key ring, so validating one needs
// no database read. Revocation is a set of audit ids held in memory.
package token
