// Package sshpush does the SSH work of association tasks: it implements
// task.Executor with golang.org/x/crypto/ssh. It logs in to a server only
// when the server presents a host key the inventory pins, by password
// (password or keyboard-interactive) or by private key; it rewrites the
// login user's ~/.ssh/authorized_keys atomically (temp file in ~/.ssh,
// fsync, mode 0600, owner kept, rename), keeping every other line byte for
// byte; it proves the new file works by logging in, on a second
// connection, with a one-time probe key written in the same change and
// removed afterwards; and it turns SSH password login off and on by a
// marked block in the server's sshd_config, checked with `sshd -t` before
// it replaces the file, then reloads sshd.
//
// Everything sent to the server that is not a fixed program travels on
// the session's stdin, never in a command line or the environment; no
// password or private key ever reaches an error, a log line or the
// server's disk.
package sshpush
