// Package escrow keeps private keys in escrow: it implements keypair.Escrow
// with envelope encryption under a KMS.
//
// Seal encrypts each private key with AES-256-GCM under a fresh random
// 256-bit data key, with associated data "keyhaven-escrow-v1\x00" + the key
// pair's immutable uid, so a sealed blob copied to another key pair does
// not open. The data key is wrapped by a kms.Wrapper chosen from the
// request's keypair.Encryption and then wiped. The blob is versioned and
// self-describing (see blob.go): it carries the ref of the KMS key version
// that wrapped the data key, so Open needs nothing else, and Rewrap can move
// a blob to another KMS key without decrypting the private key.
//
// Encryption type "kms" names a key by kms_key_id or kms_key_name:
// "BACKEND/NAME" is NAME in that configured backend; a bare name is looked
// up in every external KMS, then in the local one (kms.Registry's
// SearchOrder), stopping at the first backend that holds it or cannot be
// asked.
//
// KMS failures users can act on become keypair errors: kms.ErrKeyNotFound
// is EINVALID with ReasonKMSKeyNotFound, kms.ErrUnavailable is EUNAVAILABLE
// with ReasonKMSUnavailable (both still match the kms error with
// errors.Is). A blob that does not open is an internal error whose message
// says why but never shows key material.
package escrow
