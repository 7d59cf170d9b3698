// Package backup owns keyhaven's backup archive: one file holding a
// manifest and the members of a data directory (the SQLite snapshot, the
// local KMS keys, the token keys, the credential key), encrypted for the
// operator with a passphrase.
//
// The file is a small header (magic, argon2id salt and parameters) and
// then AES-256-GCM chunks of at most ChunkSize plaintext bytes. Each
// chunk's nonce is its counter and its associated data is the header, the
// counter and a last-chunk flag, so a flipped byte, a reordered or
// dropped chunk and a truncated file all fail to open. The plaintext is a
// tar stream whose last member is the manifest, which records the SHA-256
// of every other member.
package backup
