// Package local is keyhaven's embedded KMS backend: a versioned master key
// kept in files of a directory (by default keyhaven-data/kms-local/).
//
// Each version is a file master-vN.key holding the base64 of 32 random
// bytes, mode 0600 in a directory of mode 0700. Open creates version 1 when
// there is none; Rotate adds the next version and keeps the old ones, so
// that data wrapped under them still unwraps until it is rewrapped. Wrap
// seals a data key with AES-256-GCM under the newest version, using the ref
// ("local/master@vN") as associated data, so a wrapped key presented under
// another version's ref does not open. The backend has one key, "master";
// it is also the default key.
package local
