package sshkey

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"math/big"
	"strings"

	"golang.org/x/crypto/ssh"
)

// ErrBadComment means a key comment holds a line break, which no key
// file format can carry.
var ErrBadComment = errors.New("sshkey: a key comment cannot contain CR or LF")

// KeyPair is a key pair Generate made: the public half in every form the
// native API shows, and the private half to encode in any Format.
type KeyPair struct {
	Type              KeyType     // e.g. Ed25519
	Algorithm         string      // SSH algorithm name, e.g. "ssh-ed25519"
	PublicKey         string      // authorized_keys line, no trailing newline
	FingerprintSHA256 string      // as `ssh-keygen -l -E sha256` prints it
	FingerprintMD5    string      // Nova's colon-hex form, without "MD5:"
	Private           *PrivateKey // encode with Private.Encode; Zero when done
}

// PrivateKey is the private half of an RSA (two-prime), ECDSA (P-256,
// P-384, P-521) or Ed25519 key pair, generated or parsed. Call Zero when
// it is no longer needed.
type PrivateKey struct {
	// Comment goes into the formats that carry one (openssh, ppk) and
	// onto the public key line; it must not contain CR or LF.
	Comment string

	typ KeyType
	key crypto.Signer // *rsa.PrivateKey, *ecdsa.PrivateKey or ed25519.PrivateKey
	pub ssh.PublicKey
}

// Generate makes a new key pair of type t, with comment on the public
// key line and in the private key formats that carry one.
func Generate(t KeyType, comment string) (*KeyPair, error) {
	if !t.Generatable() {
		_, err := ParseKeyType(string(t))
		return nil, err
	}
	if strings.ContainsAny(comment, "\r\n") {
		return nil, ErrBadComment
	}
	var (
		key crypto.Signer
		err error
	)
	switch t {
	case RSA2048:
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	case RSA3072:
		key, err = rsa.GenerateKey(rand.Reader, 3072)
	case RSA4096:
		key, err = rsa.GenerateKey(rand.Reader, 4096)
	case Ed25519:
		_, key, err = ed25519.GenerateKey(rand.Reader)
	case ECDSAP256:
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case ECDSAP384:
		key, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case ECDSAP521:
		key, err = ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	}
	if err != nil {
		return nil, fmt.Errorf("sshkey: generating %s key: %w", t, err)
	}
	priv, err := newPrivateKey(key, comment)
	if err != nil {
		return nil, err
	}
	pub := priv.PublicKey()
	return &KeyPair{
		Type:              priv.typ,
		Algorithm:         pub.Type,
		PublicKey:         pub.String(),
		FingerprintSHA256: pub.FingerprintSHA256(),
		FingerprintMD5:    pub.FingerprintMD5(),
		Private:           priv,
	}, nil
}

// newPrivateKey wraps a crypto/* private key, refusing the kinds keyhaven
// does not handle.
func newPrivateKey(raw any, comment string) (*PrivateKey, error) {
	var key crypto.Signer
	switch k := raw.(type) {
	case *rsa.PrivateKey:
		if len(k.Primes) != 2 {
			return nil, fmt.Errorf("%w: multi-prime RSA", ErrPrivateKeyType)
		}
		if k.N.BitLen() > maxRSABits {
			return nil, fmt.Errorf("%w: RSA modulus over %d bits", ErrPrivateKeyType, maxRSABits)
		}
		key = k
	case *ecdsa.PrivateKey:
		switch k.Curve {
		case elliptic.P256(), elliptic.P384(), elliptic.P521():
		default:
			return nil, fmt.Errorf("%w: ECDSA curve other than P-256, P-384, P-521", ErrPrivateKeyType)
		}
		key = k
	case ed25519.PrivateKey:
		if len(k) != ed25519.PrivateKeySize {
			return nil, malformed("Ed25519 key of the wrong size")
		}
		key = k
	case *ed25519.PrivateKey:
		return newPrivateKey(*k, comment)
	default:
		return nil, fmt.Errorf("%w (keyhaven reads RSA, ECDSA and Ed25519 keys)", ErrPrivateKeyType)
	}
	pub, err := ssh.NewPublicKey(key.Public())
	if err != nil {
		return nil, fmt.Errorf("sshkey: encoding public key: %w", err)
	}
	typ := keyTypeOfCrypto(key.Public())
	if typ == "" {
		return nil, ErrPrivateKeyType
	}
	return &PrivateKey{Comment: comment, typ: typ, key: key, pub: pub}, nil
}

// Type returns the key's type, e.g. RSA3072; a parsed RSA key of another
// size is "rsa-<bits>".
func (k *PrivateKey) Type() KeyType { return k.typ }

// PublicKey derives the public half, with the key's comment.
func (k *PrivateKey) PublicKey() *PublicKey {
	return &PublicKey{Type: k.pub.Type(), Blob: k.pub.Marshal(), Comment: k.Comment}
}

// Matches reports whether pub is the public half of k.
func (k *PrivateKey) Matches(pub *PublicKey) bool {
	return pub != nil && string(pub.Blob) == string(k.pub.Marshal())
}

// Zero overwrites the secret numbers of the key, as far as Go lets a
// program reach them (crypto/rsa and crypto/ecdsa keep private copies
// that only the garbage collector frees). The key is unusable afterwards.
func (k *PrivateKey) Zero() {
	switch key := k.key.(type) {
	case *rsa.PrivateKey:
		zeroInt(key.D)
		for _, p := range key.Primes {
			zeroInt(p)
		}
		zeroInt(key.Precomputed.Dp)
		zeroInt(key.Precomputed.Dq)
		zeroInt(key.Precomputed.Qinv)
	case *ecdsa.PrivateKey:
		zeroInt(key.D) //nolint:staticcheck // the only handle on the scalar
	case ed25519.PrivateKey:
		clear(key)
	}
	k.key = nil
}

// zeroInt overwrites the words of x.
func zeroInt(x *big.Int) {
	if x == nil {
		return
	}
	clear(x.Bits())
	x.SetInt64(0)
}
