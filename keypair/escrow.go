package keypair

import "context"

// Encryption says how a private key is to be kept in escrow: with the
// service's default KMS key, or a named key of the configured KMS.
type Encryption struct {
	// Type is "default" or "kms".
	Type string
	// KMSKeyName and KMSKeyID name the key when Type is "kms"; one is
	// enough.
	KMSKeyName, KMSKeyID string
}

// Escrow seals private keys for storage and opens them again. The escrow
// package implements it with envelope encryption under a KMS.
//
// Seal and Open return *Error values for the outcomes users can act on:
// EINVALID with ReasonKMSKeyNotFound for an unknown key, EUNAVAILABLE with
// ReasonKMSUnavailable when the KMS cannot be reached or refuses; any
// other error is internal (a blob that does not open is one).
type Escrow interface {
	// Seal encrypts privateKey for the key pair with immutable id uid;
	// the result opens only for that uid.
	Seal(ctx context.Context, uid string, privateKey []byte, enc Encryption) (*Escrowed, error)
	// Open decrypts what Seal made for uid.
	Open(ctx context.Context, uid string, e *Escrowed) ([]byte, error)
	// Rewrap re-wraps the data key of e under the KMS key toRef without
	// decrypting the private key.
	Rewrap(ctx context.Context, uid string, e *Escrowed, toRef string) (*Escrowed, error)
}
