package sshkey

import (
	"bytes"
	"crypto/dsa"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/ssh"
)

// MaxPrivateKeyLength bounds the private keys MatchPrivateKey reads.
const MaxPrivateKeyLength = 64 << 10

// ErrPrivateKeyMismatch means a private key is valid but belongs to
// another public key.
var ErrPrivateKeyMismatch = errors.New("sshkey: the private key does not belong to the public key")

// MatchPrivateKey parses an unencrypted private key (PKCS#1, PKCS#8, SEC 1
// or OpenSSH PEM) and checks that it is the private half of pub. It
// returns ErrPrivateKeyMismatch for a valid key of another pair, and
// another error (never containing the key) when it cannot be parsed.
func MatchPrivateKey(privatePEM string, pub *PublicKey) error {
	if len(privatePEM) > MaxPrivateKeyLength {
		return errors.New("sshkey: private key too long")
	}
	raw, err := ssh.ParseRawPrivateKey([]byte(strings.TrimSpace(privatePEM) + "\n"))
	if err != nil {
		var missing *ssh.PassphraseMissingError
		if errors.As(err, &missing) {
			return errors.New("sshkey: the private key is encrypted with a passphrase")
		}
		return errors.New("sshkey: not a private key keyhaven can read")
	}
	var signer ssh.Signer
	switch k := raw.(type) {
	case *ed25519.PrivateKey:
		signer, err = ssh.NewSignerFromKey(*k)
	default:
		signer, err = ssh.NewSignerFromKey(k)
	}
	if err != nil {
		return fmt.Errorf("sshkey: unsupported private key type %T", raw)
	}
	if !bytes.Equal(signer.PublicKey().Marshal(), pub.Blob) {
		return ErrPrivateKeyMismatch
	}
	return nil
}

// Algorithm names the key as KPS does: "rsa-2048", "dsa-1024",
// "ecdsa-256", "ed25519", "sk-ed25519", "sk-ecdsa-256".
func Algorithm(pub *PublicKey) string {
	k, err := ssh.ParsePublicKey(pub.Blob)
	if err != nil {
		return ""
	}
	switch pub.Type {
	case ssh.KeyAlgoSKED25519:
		return "sk-ed25519"
	case ssh.KeyAlgoSKECDSA256:
		return "sk-ecdsa-256"
	}
	ck, ok := k.(ssh.CryptoPublicKey)
	if !ok {
		return ""
	}
	switch c := ck.CryptoPublicKey().(type) {
	case *rsa.PublicKey:
		return fmt.Sprintf("rsa-%d", c.N.BitLen())
	case *dsa.PublicKey:
		return fmt.Sprintf("dsa-%d", c.P.BitLen())
	case *ecdsa.PublicKey:
		return fmt.Sprintf("ecdsa-%d", c.Curve.Params().BitSize)
	case ed25519.PublicKey:
		return "ed25519"
	}
	return ""
}
