package sshkey

import (
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// NovaComment is the comment Nova puts on generated public keys.
const NovaComment = "Generated-by-Nova"

// MaxLineLength is the longest public key line ParseAuthorizedKey accepts.
// Nova has no such limit; this one only guards against abuse, as even a
// 16384-bit RSA key with a long comment fits in a fraction of it.
const MaxLineLength = 16 << 10

// certSuffix marks OpenSSH certificate key types. cryptography 38 accepts
// certificates in load_ssh_public_key, and Nova then fingerprints the whole
// certificate blob; keyhaven refuses them on purpose.
const certSuffix = "-cert-v01@openssh.com"

// Key type names, as they appear on the line and inside the blob.
const (
	typeRSA       = "ssh-rsa"
	typeDSA       = "ssh-dss"
	typeEd25519   = "ssh-ed25519"
	typeECDSA256  = "ecdsa-sha2-nistp256"
	typeECDSA384  = "ecdsa-sha2-nistp384"
	typeECDSA521  = "ecdsa-sha2-nistp521"
	typeSKECDSA   = "sk-ecdsa-sha2-nistp256@openssh.com"
	typeSKEd25519 = "sk-ssh-ed25519@openssh.com"
)

var (
	errTooLong     = errors.New("sshkey: public key line too long")
	errLineFormat  = errors.New("sshkey: invalid public key line format")
	errCertificate = errors.New("sshkey: OpenSSH certificates are not accepted as public keys")
	errNovaField   = errors.New("sshkey: second space-separated field is not base64 key data")
)

// PublicKey is a parsed OpenSSH public key line.
type PublicKey struct {
	Type    string // the key type name, e.g. "ssh-ed25519"
	Blob    []byte // the decoded wire-format key blob
	Comment string // the rest of the line after the blob, trimmed; may be ""

	// novaData is what Nova actually hashes for its fingerprint when that
	// differs from Blob (see ParseAuthorizedKey); nil when it is Blob.
	novaData []byte
}

// ParseAuthorizedKey parses one OpenSSH public key line as Nova validates
// imported keys. It accepts exactly what Nova accepts, except that it also
// takes the FIDO (sk-) key types and refuses OpenSSH certificates, lines
// over MaxLineLength and RSA moduli over 16384 bits.
//
// Nova validates a line with cryptography's load_ssh_public_key, which
// matches `\A(\S+)[ \t]+(\S+)` (so leading whitespace fails) and decodes
// the second token with Python's lenient base64 decoder, and then computes
// its fingerprint from a second, independent decode of
// public_key.split(' ')[1]. The two differ when the type and the blob are
// separated by a tab or by more than one space: Nova then fingerprints the
// comment or the empty string, or fails. FingerprintMD5 reproduces that;
// Blob and FingerprintSHA256 always describe the real key.
func ParseAuthorizedKey(s string) (*PublicKey, error) {
	if len(s) > MaxLineLength {
		return nil, errTooLong
	}
	typ, body, rest, ok := splitKeyLine(s)
	if !ok {
		return nil, errLineFormat
	}
	if strings.HasSuffix(typ, certSuffix) {
		return nil, errCertificate
	}
	if !supportedType(typ) {
		if len(typ) > 64 {
			return nil, errors.New("sshkey: unsupported key type")
		}
		return nil, fmt.Errorf("sshkey: unsupported key type %q", typ)
	}
	blob, err := pyA2BBase64(body)
	if err != nil {
		return nil, fmt.Errorf("sshkey: %s key data: %w", typ, err)
	}
	if err := checkBlob(typ, blob); err != nil {
		return nil, err
	}
	nova, err := novaFingerprintData(s)
	if err != nil {
		return nil, err
	}
	k := &PublicKey{Type: typ, Blob: blob, Comment: strings.TrimSpace(rest)}
	if !bytes.Equal(nova, blob) {
		k.novaData = nova
	}
	return k, nil
}

// splitKeyLine applies cryptography's `\A(\S+)[ \t]+(\S+)` to s, where \S
// is a bytes-pattern class: anything but ASCII space, \t, \n, \v, \f, \r.
func splitKeyLine(s string) (typ, body, rest string, ok bool) {
	i := 0
	for i < len(s) && !isASCIISpace(s[i]) {
		i++
	}
	j := i
	for j < len(s) && (s[j] == ' ' || s[j] == '\t') {
		j++
	}
	k := j
	for k < len(s) && !isASCIISpace(s[k]) {
		k++
	}
	if i == 0 || j == i || k == j {
		return "", "", "", false
	}
	return s[:i], s[j:k], s[k:], true
}

func isASCIISpace(c byte) bool {
	return c == ' ' || (c >= '\t' && c <= '\r')
}

// novaFingerprintData returns base64.b64decode(s.split(' ')[1]), the bytes
// Nova feeds to MD5. b64decode refuses a str that is not pure ASCII.
func novaFingerprintData(s string) ([]byte, error) {
	i := strings.IndexByte(s, ' ')
	if i < 0 {
		return nil, errNovaField
	}
	field := s[i+1:]
	if j := strings.IndexByte(field, ' '); j >= 0 {
		field = field[:j]
	}
	for k := 0; k < len(field); k++ {
		if field[k] >= 0x80 {
			return nil, errNovaField
		}
	}
	data, err := pyA2BBase64(field)
	if err != nil {
		return nil, errNovaField
	}
	return data, nil
}

func supportedType(typ string) bool {
	switch typ {
	case typeRSA, typeDSA, typeEd25519, typeECDSA256, typeECDSA384, typeECDSA521,
		typeSKECDSA, typeSKEd25519:
		return true
	}
	return false
}

// FingerprintMD5 returns Nova's fingerprint of the key: the lowercase hex
// pairs of an MD5 digest joined by ':', as `ssh-keygen -l -E md5` prints
// without its "MD5:" prefix. It hashes what Nova hashes, which is Blob for
// every line whose type and blob are separated by exactly one space.
func (k *PublicKey) FingerprintMD5() string {
	data := k.Blob
	if k.novaData != nil {
		data = k.novaData
	}
	sum := md5.Sum(data)
	return colonHex(sum[:])
}

// FingerprintSHA256 returns the key's SHA-256 fingerprint in the form
// `ssh-keygen -l` prints by default, "SHA256:" and unpadded base64.
func (k *PublicKey) FingerprintSHA256() string {
	sum := sha256.Sum256(k.Blob)
	return "SHA256:" + base64.RawStdEncoding.EncodeToString(sum[:])
}

// colonHex renders b as lowercase hex pairs joined by ':'.
func colonHex(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	h := hex.EncodeToString(b)
	var sb strings.Builder
	sb.Grow(len(b) * 3)
	for i := 0; i < len(h); i += 2 {
		if i > 0 {
			sb.WriteByte(':')
		}
		sb.WriteString(h[i : i+2])
	}
	return sb.String()
}
