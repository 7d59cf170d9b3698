package sshkey

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"

	"golang.org/x/crypto/ssh"
)

var (
	// ErrPrivateKeyEncrypted means the private key is protected by a
	// passphrase, which keyhaven does not take.
	ErrPrivateKeyEncrypted = errors.New("sshkey: the private key is encrypted with a passphrase")
	// ErrPrivateKeyMalformed is wrapped by ParsePrivateKey's error for
	// input that is not a well-formed private key in any Format; the
	// message says what is wrong but never quotes the input.
	ErrPrivateKeyMalformed = errors.New("sshkey: not a private key keyhaven can read")
	// ErrPrivateKeyType is wrapped when the key is well-formed but of a
	// kind keyhaven does not handle (DSA, FIDO, multi-prime RSA, ...).
	ErrPrivateKeyType = errors.New("sshkey: unsupported private key type")
)

// malformed wraps ErrPrivateKeyMalformed with a fixed reason.
func malformed(reason string) error {
	return fmt.Errorf("%w: %s", ErrPrivateKeyMalformed, reason)
}

// ParsePrivateKey reads an unencrypted private key in any Format and
// reports which one it was in. The PEM formats are told apart by their
// block type ("OPENSSH PRIVATE KEY", "PRIVATE KEY", "RSA PRIVATE KEY",
// "EC PRIVATE KEY"), PPK by its first line. Errors wrap
// ErrPrivateKeyEncrypted, ErrPrivateKeyMalformed or ErrPrivateKeyType and
// never contain key material. The caller should clear data when done.
func ParsePrivateKey(data []byte) (*PrivateKey, Format, error) {
	if len(data) > MaxPrivateKeyLength {
		return nil, "", malformed("longer than 64 KiB")
	}
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if bytes.HasPrefix(trimmed, []byte(ppkPrefix)) {
		k, err := parsePPK(trimmed)
		return k, FormatPPK, err
	}
	block, rest := pem.Decode(trimmed)
	if block == nil {
		return nil, "", malformed("expected a PEM private key or a PuTTY key file")
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, "", malformed("text after the private key")
	}
	defer clear(block.Bytes)
	if _, ok := block.Headers["DEK-Info"]; ok || block.Type == "ENCRYPTED PRIVATE KEY" {
		return nil, "", ErrPrivateKeyEncrypted
	}
	var (
		f   Format
		raw any
		err error
	)
	switch block.Type {
	case "OPENSSH PRIVATE KEY":
		f = FormatOpenSSH
		raw, err = parseOpenSSH(block)
	case "PRIVATE KEY":
		f = FormatPKCS8
		raw, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		f = FormatPKCS1
		raw, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		f = FormatSEC1
		raw, err = x509.ParseECPrivateKey(block.Bytes)
	case "DSA PRIVATE KEY":
		return nil, "", fmt.Errorf("%w: DSA", ErrPrivateKeyType)
	default:
		return nil, "", malformed("unknown PEM block type " + quoteShort(block.Type))
	}
	if err != nil {
		if errors.Is(err, ErrPrivateKeyEncrypted) || errors.Is(err, ErrPrivateKeyType) {
			return nil, "", err
		}
		return nil, "", malformed("invalid " + string(f) + " private key")
	}
	k, err := newPrivateKey(raw, "")
	if err != nil {
		return nil, "", err
	}
	if err := k.checkConsistent(); err != nil {
		k.Zero()
		return nil, "", err
	}
	return k, f, nil
}

// parseOpenSSH reads an "OPENSSH PRIVATE KEY" block with x/crypto/ssh,
// whose own errors are not shown because they may name the key's type
// in a way that reads as a keyhaven error.
func parseOpenSSH(block *pem.Block) (any, error) {
	text := pem.EncodeToMemory(block)
	defer clear(text)
	raw, err := ssh.ParseRawPrivateKey(text)
	if err != nil {
		var missing *ssh.PassphraseMissingError
		if errors.As(err, &missing) {
			return nil, ErrPrivateKeyEncrypted
		}
		switch typ := opensshKeyType(block.Bytes); typ {
		case "", typeRSA, typeEd25519, typeECDSA256, typeECDSA384, typeECDSA521:
			return nil, err
		default: // FIDO, DSA, certificates: x/crypto reads none of them
			return nil, fmt.Errorf("%w: %s", ErrPrivateKeyType, quoteShort(typ))
		}
	}
	return raw, nil
}

// opensshKeyType reads the type of the first public key in an
// "openssh-key-v1" blob (PROTOCOL.key), or "" if it cannot.
func opensshKeyType(b []byte) string {
	const magic = "openssh-key-v1\x00"
	if len(b) < len(magic) || string(b[:len(magic)]) != magic {
		return ""
	}
	w := wire(b[len(magic):])
	for range 3 { // cipher name, KDF name, KDF options
		if _, err := w.str(); err != nil {
			return ""
		}
	}
	if len(w) < 4 {
		return ""
	}
	w = w[4:] // number of keys
	pub, err := w.str()
	if err != nil {
		return ""
	}
	pw := wire(pub)
	typ, err := pw.str()
	if err != nil {
		return ""
	}
	return string(typ)
}

// checkConsistent checks that the public half a file carried belongs to
// its private half, which the formats store side by side and parsers
// take on trust: an RSA key must satisfy Validate, an ECDSA or Ed25519
// key's public point must be derived from its scalar or seed.
func (k *PrivateKey) checkConsistent() error {
	bad := malformed("its public and private halves do not match")
	switch key := k.key.(type) {
	case *rsa.PrivateKey:
		if key.Validate() != nil {
			return bad
		}
	case *ecdsa.PrivateKey:
		d, err := key.Bytes()
		if err != nil {
			return bad
		}
		defer clear(d)
		again, err := ecdsa.ParseRawPrivateKey(key.Curve, d)
		if err != nil || !again.PublicKey.Equal(&key.PublicKey) {
			return bad
		}
	case ed25519.PrivateKey:
		again := ed25519.NewKeyFromSeed(key.Seed())
		defer clear(again)
		if !bytes.Equal(again[32:], key[32:]) {
			return bad
		}
	}
	return nil
}

// CheckPrivateKey parses privateKey as ParsePrivateKey does and checks
// that it is the private half of pub, returning ErrPrivateKeyMismatch
// for a valid key of another pair.
func CheckPrivateKey(privateKey []byte, pub *PublicKey) (*PrivateKey, Format, error) {
	k, f, err := ParsePrivateKey(privateKey)
	if err != nil {
		return nil, "", err
	}
	if !k.Matches(pub) {
		k.Zero()
		return nil, "", ErrPrivateKeyMismatch
	}
	if k.Comment == "" {
		k.Comment = pub.Comment
	}
	return k, f, nil
}
