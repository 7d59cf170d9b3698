// Package sshkey parses, fingerprints and generates the key material behind
// Nova's os-keypairs API, reproducing what OpenStack Nova 26 does with
// python-cryptography 38, paramiko and openssl: which public key lines it
// accepts, the MD5 fingerprint it computes for them (quirks included), the
// SHA-1 fingerprint of imported X.509 certificates with the error text Nova
// reports, and the shape of the RSA and X.509 key pairs it generates. The
// functions are pure: the only I/O is reading crypto/rand. Pool keeps RSA
// keys generated ahead of demand, in memory only.
package sshkey
