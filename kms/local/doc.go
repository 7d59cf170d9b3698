// Package local is keyhaven's embedded KMS backend: named, versioned keys
// kept in files of a directory (by default keyhaven-data/kms-local/).
//
// Each version of a key is a file NAME-vN.key ("/" in a name written as
// "+": kps+default-v1.key) holding the base64 of 32 random bytes, mode 0600
// in a directory of mode 0700, published with a hard link so that a file
// is complete when it appears and two processes cannot both create it.
// Open creates version 1 of the master key (the default key, "master") and
// of Huawei's default KPS key ("kps/default") when they are missing;
// CreateKey adds other keys, RotateKey adds the next version of one and
// keeps the old ones, so that data wrapped under them still unwraps until
// it is rewrapped. Wrap seals a data key with AES-256-GCM under the newest
// version, using the ref ("local/NAME@vN") as associated data, so a wrapped
// key presented under another key's or version's ref does not open. A name
// or version this process has not loaded, or a newer version of a key,
// whose file exists makes it read the directory again: another process
// sharing it may have created or rotated the key.
package local
