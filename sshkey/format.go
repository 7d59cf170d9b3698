package sshkey

import (
	"errors"
	"fmt"
)

// Format names an encoding of a private key.
type Format string

// The private key formats keyhaven writes and reads, all unencrypted.
const (
	// FormatOpenSSH is OpenSSH's own "OPENSSH PRIVATE KEY" format, what
	// ssh-keygen writes by default.
	FormatOpenSSH Format = "openssh"
	// FormatPKCS8 is PEM "PRIVATE KEY" (RFC 5208), for any key type.
	// OpenSSH 9.2 (Debian 12's) reads Ed25519 keys only in FormatOpenSSH,
	// not in this one; openssl and Go do.
	FormatPKCS8 Format = "pkcs8"
	// FormatPKCS1 is PEM "RSA PRIVATE KEY" (RFC 8017), for RSA keys only.
	FormatPKCS1 Format = "pkcs1"
	// FormatSEC1 is PEM "EC PRIVATE KEY" (RFC 5915), for ECDSA keys only.
	FormatSEC1 Format = "sec1"
	// FormatPPK is PuTTY's private key file format version 3.
	FormatPPK Format = "ppk"
)

var formats = []Format{FormatOpenSSH, FormatPKCS8, FormatPKCS1, FormatSEC1, FormatPPK}

var (
	// ErrUnknownFormat is wrapped by ParseFormat's error for a name that
	// is not a Format.
	ErrUnknownFormat = errors.New("sshkey: unknown private key format")
	// ErrFormatNotForType is wrapped by EncodePrivateKey's error when the
	// format cannot hold the key's type (pkcs1 for a non-RSA key, sec1
	// for a non-ECDSA key).
	ErrFormatNotForType = errors.New("sshkey: private key format not available for this key type")
)

// Formats returns the formats EncodePrivateKey writes.
func Formats() []Format {
	return append([]Format(nil), formats...)
}

// ParseFormat checks that s names a Format. Its error wraps
// ErrUnknownFormat and lists the allowed names.
func ParseFormat(s string) (Format, error) {
	for _, f := range formats {
		if string(f) == s {
			return f, nil
		}
	}
	return "", fmt.Errorf("%w %s; allowed: %s", ErrUnknownFormat, quoteShort(s), joinNames(formats))
}

// Supports reports whether format f can hold a key of type t.
func (f Format) Supports(t KeyType) bool {
	switch f {
	case FormatOpenSSH, FormatPKCS8, FormatPPK:
		return t.SSHAlgorithm() != "" && !t.isSK() && !t.isDSA()
	case FormatPKCS1:
		return t.SSHAlgorithm() == typeRSA
	case FormatSEC1:
		return t == ECDSAP256 || t == ECDSAP384 || t == ECDSAP521
	}
	return false
}

func (t KeyType) isSK() bool  { return t == SKEd25519 || t == SKECDSAP256 }
func (t KeyType) isDSA() bool { return t.SSHAlgorithm() == typeDSA }
