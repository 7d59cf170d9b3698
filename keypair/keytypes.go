package keypair

// The key types and private key formats keyhaven's own API generates. The
// table is the one place to add a type or a format.

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"slices"
	"sort"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/keyhaven/keyhaven/sshkey"
)

// The private key formats.
const (
	FormatOpenSSH = "openssh"
	FormatPKCS8   = "pkcs8"
	FormatPKCS1   = "pkcs1"
)

// DefaultKeyType and DefaultFormat are what keyhaven's own API generates
// when the caller names neither.
const (
	DefaultKeyType = "ed25519"
	DefaultFormat  = FormatOpenSSH
)

// GeneratedComment is the comment on public keys keyhaven's own API
// generates.
const GeneratedComment = "Generated-by-keyhaven"

// KeySpec asks for generated key material of a type, its private key in a
// format.
type KeySpec struct {
	// Type is a KeyTypes name (rsa-2048, ed25519, ecdsa-p256…).
	Type string
	// Format is a private key format of that type (openssh, pkcs8…).
	Format string
}

// KeyType is one generatable key type.
type KeyType struct {
	// Algorithm is the KPS name the store keeps (rsa-2048, ecdsa-256…).
	Algorithm string
	// Formats are the private key formats it can be written in.
	Formats []string
	// newKey makes the private key.
	newKey func() (crypto.Signer, error)
}

func rsaKey(bits int) func() (crypto.Signer, error) {
	return func() (crypto.Signer, error) { return rsa.GenerateKey(rand.Reader, bits) }
}

func ecKey(c elliptic.Curve) func() (crypto.Signer, error) {
	return func() (crypto.Signer, error) { return ecdsa.GenerateKey(c, rand.Reader) }
}

var (
	rsaFormats   = []string{FormatOpenSSH, FormatPKCS8, FormatPKCS1}
	otherFormats = []string{FormatOpenSSH, FormatPKCS8}
)

// KeyTypes is every type keyhaven's own API generates, by its name there.
// The sshkey package will take over the encodings (and add PuTTY's PPK);
// this table then only names its functions.
var KeyTypes = map[string]KeyType{
	"rsa-2048":   {"rsa-2048", rsaFormats, rsaKey(2048)},
	"rsa-3072":   {"rsa-3072", rsaFormats, rsaKey(3072)},
	"rsa-4096":   {"rsa-4096", rsaFormats, rsaKey(4096)},
	"ed25519":    {"ed25519", otherFormats, func() (crypto.Signer, error) { _, k, err := ed25519.GenerateKey(rand.Reader); return k, err }},
	"ecdsa-p256": {"ecdsa-256", otherFormats, ecKey(elliptic.P256())},
	"ecdsa-p384": {"ecdsa-384", otherFormats, ecKey(elliptic.P384())},
	"ecdsa-p521": {"ecdsa-521", otherFormats, ecKey(elliptic.P521())},
}

// KeyTypeNames lists the names of KeyTypes, sorted.
func KeyTypeNames() []string {
	names := make([]string, 0, len(KeyTypes))
	for n := range KeyTypes {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// NativeType names a stored algorithm as keyhaven's own API does
// (ecdsa-256 is ecdsa-p256); others are shown as the store keeps them.
func NativeType(algorithm string) string {
	for n, t := range KeyTypes {
		if t.Algorithm == algorithm {
			return n
		}
	}
	return algorithm
}

// checkSpec fills in the defaults and refuses unknown types and formats.
func checkSpec(spec KeySpec) (KeySpec, KeyType, error) {
	if spec.Type == "" {
		spec.Type = DefaultKeyType
	}
	if spec.Format == "" {
		spec.Format = DefaultFormat
	}
	kt, ok := KeyTypes[spec.Type]
	if !ok {
		return spec, kt, Errorf(EINVALID, "The key type %q is not one of %s.", spec.Type, strings.Join(KeyTypeNames(), ", "))
	}
	if !slices.Contains(kt.Formats, spec.Format) {
		return spec, kt, Errorf(EINVALID, "A %s private key can be written as %s, not %q.", spec.Type, strings.Join(kt.Formats, ", "), spec.Format)
	}
	return spec, kt, nil
}

// generate makes key material as spec asks.
func generate(spec KeySpec) (*sshkey.Generated, string, error) {
	spec, kt, err := checkSpec(spec)
	if err != nil {
		return nil, "", err
	}
	key, err := kt.newKey()
	if err != nil {
		return nil, "", fmt.Errorf("keypair: generating %s: %w", spec.Type, err)
	}
	pub, err := ssh.NewPublicKey(key.Public())
	if err != nil {
		return nil, "", fmt.Errorf("keypair: encoding %s public key: %w", spec.Type, err)
	}
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub))) + " " + GeneratedComment
	var block *pem.Block
	switch spec.Format {
	case FormatOpenSSH:
		block, err = ssh.MarshalPrivateKey(key, "")
	case FormatPKCS8:
		var der []byte
		der, err = x509.MarshalPKCS8PrivateKey(key)
		block = &pem.Block{Type: "PRIVATE KEY", Bytes: der}
	case FormatPKCS1:
		block = &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key.(*rsa.PrivateKey))}
	}
	if err != nil {
		return nil, "", fmt.Errorf("keypair: encoding %s private key: %w", spec.Type, err)
	}
	pk, err := sshkey.ParseAuthorizedKey(line)
	if err != nil {
		return nil, "", fmt.Errorf("keypair: reading back %s public key: %w", spec.Type, err)
	}
	return &sshkey.Generated{PublicKey: line, PrivateKey: string(pem.EncodeToMemory(block)), Fingerprint: pk.FingerprintMD5()}, kt.Algorithm, nil
}
