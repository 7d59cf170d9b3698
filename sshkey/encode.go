package sshkey

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"

	"golang.org/x/crypto/ssh"
)

var errZeroed = errors.New("sshkey: the private key has been zeroed")

// Encode writes the private key, unencrypted, in format f: PEM text for
// openssh, pkcs8, pkcs1 and sec1, PuTTY's text format for ppk. Its error
// wraps ErrUnknownFormat for an unknown f and ErrFormatNotForType when f
// cannot hold the key's type. The caller should clear the result when
// done with it.
func (k *PrivateKey) Encode(f Format) ([]byte, error) {
	if _, err := ParseFormat(string(f)); err != nil {
		return nil, err
	}
	if !f.Supports(k.typ) {
		return nil, fmt.Errorf("%w: %s holds %s keys only, not %s", ErrFormatNotForType, f, formatHolds(f), k.typ)
	}
	if k.key == nil {
		return nil, errZeroed
	}
	if f == FormatPPK {
		return k.encodePPK()
	}
	var (
		block *pem.Block
		err   error
	)
	switch f {
	case FormatOpenSSH:
		block, err = ssh.MarshalPrivateKey(k.key, k.Comment)
	case FormatPKCS8:
		var der []byte
		der, err = x509.MarshalPKCS8PrivateKey(k.key)
		block = &pem.Block{Type: "PRIVATE KEY", Bytes: der}
	case FormatPKCS1:
		block = &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k.key.(*rsa.PrivateKey))}
	case FormatSEC1:
		var der []byte
		der, err = x509.MarshalECPrivateKey(k.key.(*ecdsa.PrivateKey))
		block = &pem.Block{Type: "EC PRIVATE KEY", Bytes: der}
	}
	if err != nil {
		return nil, fmt.Errorf("sshkey: encoding %s private key: %w", f, err)
	}
	out := pem.EncodeToMemory(block)
	clear(block.Bytes)
	return out, nil
}

// formatHolds names the key family a restricted format is for.
func formatHolds(f Format) string {
	switch f {
	case FormatPKCS1:
		return "RSA"
	case FormatSEC1:
		return "ECDSA"
	}
	return "RSA, ECDSA and Ed25519"
}
