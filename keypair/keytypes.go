package keypair

// The key types and private key formats keyhaven's own API generates; the
// sshkey package makes and encodes them, this table names them.

import (
	"fmt"
	"sort"
	"strings"

	"github.com/keyhaven/keyhaven/sshkey"
)

// DefaultKeyType and DefaultFormat are what keyhaven's own API generates
// when the caller names neither.
const (
	DefaultKeyType = string(sshkey.Ed25519)
	DefaultFormat  = string(sshkey.FormatOpenSSH)
)

// GeneratedComment is the comment on public keys keyhaven's own API
// generates.
const GeneratedComment = "Generated-by-keyhaven"

// KeySpec asks for generated key material of a type, its private key in a
// format.
type KeySpec struct {
	// Type is a KeyTypes name (rsa-2048, ed25519, ecdsa-p256…).
	Type string
	// Format is a private key format of that type (openssh, pkcs8, ppk…).
	Format string
}

// KeyType is one generatable key type.
type KeyType struct {
	// Algorithm is the KPS name the store keeps (rsa-2048, ecdsa-256…).
	Algorithm string
	// Formats are the private key formats it can be written in.
	Formats []string
}

// kpsAlgorithm is KPS's name of a generatable type: ecdsa-p256 is
// ecdsa-256, the others are named alike.
func kpsAlgorithm(t sshkey.KeyType) string {
	return strings.Replace(string(t), "ecdsa-p", "ecdsa-", 1)
}

// KeyTypes is every type keyhaven's own API generates, by its name there.
var KeyTypes = func() map[string]KeyType {
	m := map[string]KeyType{}
	for _, t := range sshkey.KeyTypes() {
		var fs []string
		for _, f := range sshkey.Formats() {
			if f.Supports(t) {
				fs = append(fs, string(f))
			}
		}
		m[string(t)] = KeyType{Algorithm: kpsAlgorithm(t), Formats: fs}
	}
	return m
}()

// KeyTypeNames lists the names of KeyTypes, sorted.
func KeyTypeNames() []string {
	names := make([]string, 0, len(KeyTypes))
	for n := range KeyTypes {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// FormatNames lists every private key format, in sshkey's order.
func FormatNames() []string {
	var out []string
	for _, f := range sshkey.Formats() {
		out = append(out, string(f))
	}
	return out
}

// NativeType names a key pair's type as keyhaven's own API does: from the
// public key when it parses (ed25519, ecdsa-p256, sk-ed25519, rsa-1024…),
// else the stored KPS algorithm.
func NativeType(public, algorithm string) string {
	if pk, err := sshkey.ParseAuthorizedKey(public); err == nil {
		if t := sshkey.KeyTypeOf(pk); t != "" {
			return string(t)
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
	if _, err := sshkey.ParseFormat(spec.Format); err != nil {
		return spec, kt, Errorf(EINVALID, "The private key format %q is not one of %s.", spec.Format, strings.Join(FormatNames(), ", "))
	}
	if !sshkey.Format(spec.Format).Supports(sshkey.KeyType(spec.Type)) {
		return spec, kt, Errorf(EINVALID, "A %s private key can be written as %s, not %s.", spec.Type, strings.Join(kt.Formats, ", "), spec.Format)
	}
	return spec, kt, nil
}

// generate makes key material as spec asks.
func generate(spec KeySpec) (*sshkey.Generated, string, error) {
	spec, kt, err := checkSpec(spec)
	if err != nil {
		return nil, "", err
	}
	kp, err := sshkey.Generate(sshkey.KeyType(spec.Type), GeneratedComment)
	if err != nil {
		return nil, "", fmt.Errorf("keypair: generating %s: %w", spec.Type, err)
	}
	defer kp.Private.Zero()
	private, err := kp.Private.Encode(sshkey.Format(spec.Format))
	if err != nil {
		return nil, "", fmt.Errorf("keypair: encoding %s private key: %w", spec.Type, err)
	}
	defer clear(private)
	return &sshkey.Generated{PublicKey: kp.PublicKey, PrivateKey: string(private), Fingerprint: kp.FingerprintMD5}, kt.Algorithm, nil
}
