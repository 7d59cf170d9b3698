// Package sshkey parses, fingerprints and generates SSH key material.
//
// For Nova's os-keypairs API it reproduces what OpenStack Nova 26 does
// with python-cryptography 38, paramiko and openssl: which public key
// lines it accepts, the MD5 fingerprint it computes for them (quirks
// included), the SHA-1 fingerprint of imported X.509 certificates with the
// error text Nova reports, and the shape of the RSA and X.509 key pairs it
// generates (ParseAuthorizedKey, GenerateRSA, GenerateX509).
//
// For keyhaven's native API it generates every KeyType (Generate),
// writes private keys in every Format, OpenSSH's, PKCS#8, PKCS#1, SEC 1
// and PuTTY's PPK version 3 (PrivateKey.Encode), reads them back with a
// check that both halves belong together (ParsePrivateKey,
// CheckPrivateKey), and gives SHA-256 and MD5 fingerprints for every key
// type, FIDO ones included.
//
// The functions are pure: the only I/O is reading crypto/rand.
package sshkey
