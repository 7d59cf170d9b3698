// Package loadgen drives a running key pair service for a bounded time
// and reports each operation's throughput and latency: Nova os-keypairs
// (import, show, list, delete, generate), KPS (create with escrow,
// export) and password login to the identity service, authenticated with
// a static token, a Keystone token it gets itself, or AK/SK signatures. It
// creates the key pairs it shows, lists and deletes before timing, runs
// one operation against one target at a time (so targets do not compete
// for the machine), and refuses targets that are not on loopback unless
// told otherwise. It speaks HTTP/1.1 itself (conn, readResponse) rather
// than through net/http's Transport, so that it leaves the CPU to the
// servers it loads. `keyhaven load` is its command line.
package loadgen
