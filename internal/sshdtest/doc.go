// Package sshdtest runs real OpenSSH servers for tests: Debian's
// openssh-server (/usr/sbin/sshd -D -e -f CONFIG) on 127.0.0.1, on a free
// port, with a host key of its own (ssh-keygen, ed25519), a configuration
// of its own in a temporary directory (UsePAM yes so passwords and locked
// accounts behave as on a Debian server, StrictModes yes, PidFile in that
// directory) and a throwaway login user the test creates (useradd, a
// password set with chpasswd, optionally NOPASSWD sudo through
// /etc/sudoers.d) and removes again (userdel).
//
// Logins are checked with the real OpenSSH client (ssh), never with
// keyhaven's own SSH code: CanLoginKey and CanLoginPassword.
//
// Silent and ClosedPort give the two broken servers a test needs: one that
// accepts TCP and never speaks SSH, and a port nothing listens on.
//
// Start needs root (useradd, sshd); it skips the test when not root or
// when sshd is not installed (scripts/install-test-deps.sh installs it),
// unless KEYHAVEN_REQUIRE_SSHD=1, which makes it fail instead. A watchdog
// process stops each sshd and removes its user and files when the test
// ends, or when the test binary exits however it exits.
//
// Import it from tests only.
package sshdtest
