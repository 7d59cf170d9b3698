// Package kms is keyhaven's key management layer: the Wrapper interface
// every backend implements, the errors they report, the optional
// capabilities a backend may add, and the Registry that holds the
// configured backends.
//
// A Wrapper holds key-encryption keys (KEKs) that never leave it and wraps
// the 32-byte data keys that escrow encrypts private keys with. Keys are
// named by references of the form "backend/key", where the key part is the
// backend's business: "local/master@v2" is version 2 of the local master
// key, "local/kps/default@v1" of the local key kps/default,
// "pkcs11/keyhaven-kek" the HSM key labelled keyhaven-kek. Optional
// capabilities (Rotator, KeyRotator, KeyCreator, Resolver, io.Closer) are
// separate interfaces discovered by type assertion, as in smallstep's
// kms/apiv1.
//
// Backends live in their own packages (kms/local, kms/pkcs11), each owning
// its configuration; cmd/keyhaven lists them in one table and builds a
// Registry from them. There is no global registration.
package kms
