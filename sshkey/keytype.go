package sshkey

import (
	"crypto/dsa"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/ssh"
)

// KeyType names a kind of key in keyhaven's native API, e.g. "ed25519" or
// "rsa-3072". The constants below are the types Generate makes; KeyTypeOf
// may also return names of types keyhaven only imports.
type KeyType string

// The key types Generate makes.
const (
	RSA2048   KeyType = "rsa-2048"
	RSA3072   KeyType = "rsa-3072"
	RSA4096   KeyType = "rsa-4096"
	Ed25519   KeyType = "ed25519"
	ECDSAP256 KeyType = "ecdsa-p256"
	ECDSAP384 KeyType = "ecdsa-p384"
	ECDSAP521 KeyType = "ecdsa-p521"
)

// Key types keyhaven imports but cannot generate: FIDO keys live on a
// token. RSA and DSA keys of other sizes are named "rsa-<bits>" and
// "dsa-<bits>".
const (
	SKEd25519   KeyType = "sk-ed25519"
	SKECDSAP256 KeyType = "sk-ecdsa-p256"
)

// generatable lists the types Generate makes, in the order error messages
// and KeyTypes give them.
var generatable = []KeyType{RSA2048, RSA3072, RSA4096, Ed25519, ECDSAP256, ECDSAP384, ECDSAP521}

// ErrUnknownKeyType is wrapped by ParseKeyType's error for a name that is
// not a type Generate makes.
var ErrUnknownKeyType = errors.New("sshkey: unknown key type")

// KeyTypes returns the types Generate makes.
func KeyTypes() []KeyType {
	return append([]KeyType(nil), generatable...)
}

// ParseKeyType checks that s names a type Generate makes. Its error wraps
// ErrUnknownKeyType and lists the allowed names, so it can be shown to the
// user as it is.
func ParseKeyType(s string) (KeyType, error) {
	for _, t := range generatable {
		if string(t) == s {
			return t, nil
		}
	}
	return "", fmt.Errorf("%w %s; allowed: %s", ErrUnknownKeyType, quoteShort(s), joinNames(generatable))
}

// Generatable reports whether Generate makes keys of type t.
func (t KeyType) Generatable() bool {
	for _, g := range generatable {
		if g == t {
			return true
		}
	}
	return false
}

// SSHAlgorithm returns the SSH name of the key type, e.g. "ssh-ed25519"
// or "ecdsa-sha2-nistp256", or "" for a name keyhaven does not know.
func (t KeyType) SSHAlgorithm() string {
	switch {
	case t == Ed25519:
		return typeEd25519
	case t == ECDSAP256:
		return typeECDSA256
	case t == ECDSAP384:
		return typeECDSA384
	case t == ECDSAP521:
		return typeECDSA521
	case t == SKEd25519:
		return typeSKEd25519
	case t == SKECDSAP256:
		return typeSKECDSA
	case strings.HasPrefix(string(t), "rsa-"):
		return typeRSA
	case strings.HasPrefix(string(t), "dsa-"):
		return typeDSA
	}
	return ""
}

// KeyTypeOf names the type of a parsed public key: one of the constants,
// or "rsa-<bits>" / "dsa-<bits>" for sizes Generate does not make. It
// returns "" only for a key ParseAuthorizedKey would not have returned.
func KeyTypeOf(pub *PublicKey) KeyType {
	switch pub.Type {
	case typeSKEd25519:
		return SKEd25519
	case typeSKECDSA:
		return SKECDSAP256
	}
	k, err := ssh.ParsePublicKey(pub.Blob)
	if err != nil {
		// x/crypto/ssh refuses RSA exponents over 24 bits, which Nova
		// (and so ParseAuthorizedKey) accepts; the size is in the blob.
		if pub.Type == typeRSA {
			return rsaTypeFromBlob(pub.Blob)
		}
		return ""
	}
	ck, ok := k.(ssh.CryptoPublicKey)
	if !ok {
		return ""
	}
	return keyTypeOfCrypto(ck.CryptoPublicKey())
}

// keyTypeOfCrypto names the type of a crypto/* public key.
func keyTypeOfCrypto(k any) KeyType {
	switch c := k.(type) {
	case *rsa.PublicKey:
		return KeyType(fmt.Sprintf("rsa-%d", c.N.BitLen()))
	case *dsa.PublicKey:
		return KeyType(fmt.Sprintf("dsa-%d", c.P.BitLen()))
	case *ecdsa.PublicKey:
		switch c.Curve {
		case elliptic.P256():
			return ECDSAP256
		case elliptic.P384():
			return ECDSAP384
		case elliptic.P521():
			return ECDSAP521
		}
	case ed25519.PublicKey:
		return Ed25519
	}
	return ""
}

// rsaTypeFromBlob reads the modulus size from an RSA blob checkBlob
// accepted.
func rsaTypeFromBlob(blob []byte) KeyType {
	w := wire(blob)
	if _, err := w.str(); err != nil {
		return ""
	}
	if _, err := w.mpint(); err != nil {
		return ""
	}
	n, err := w.mpint()
	if err != nil {
		return ""
	}
	return KeyType(fmt.Sprintf("rsa-%d", n.BitLen()))
}

// quoteShort quotes a user-supplied name for an error message, cut short
// so that the message cannot become an echo of a huge request field.
func quoteShort(s string) string {
	const max = 40
	if len(s) > max {
		return fmt.Sprintf("%q...", s[:max])
	}
	return fmt.Sprintf("%q", s)
}

// joinNames lists names for an error message.
func joinNames[T ~string](names []T) string {
	s := make([]string, len(names))
	for i, n := range names {
		s[i] = string(n)
	}
	return strings.Join(s, ", ")
}
