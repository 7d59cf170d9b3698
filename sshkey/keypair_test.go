package sshkey

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"errors"
	"math/big"
	"path/filepath"
	"strings"
	"testing"
)

// formatsFor returns, for each Format, whether it can hold a key of type t.
func formatsFor(t KeyType) map[Format]bool {
	isRSA := strings.HasPrefix(string(t), "rsa-")
	isEC := strings.HasPrefix(string(t), "ecdsa-")
	return map[Format]bool{
		FormatOpenSSH: true,
		FormatPKCS8:   true,
		FormatPKCS1:   isRSA,
		FormatSEC1:    isEC,
		FormatPPK:     true,
	}
}

// TestGenerateSSHKeygen generates every type and checks, with the real
// ssh-keygen, that each PEM-style encoding of the private key gives back
// the public key and that both fingerprints are the ones ssh-keygen
// prints.
func TestGenerateSSHKeygen(t *testing.T) {
	needTool(t, "ssh-keygen")
	for _, typ := range KeyTypes() {
		t.Run(string(typ), func(t *testing.T) {
			t.Parallel()
			kp, err := Generate(typ, "keyhaven@test")
			if err != nil {
				t.Fatal(err)
			}
			if kp.Type != typ || kp.Algorithm != typ.SSHAlgorithm() || !strings.HasPrefix(kp.PublicKey, kp.Algorithm+" ") {
				t.Fatalf("type %s algorithm %s line %q", kp.Type, kp.Algorithm, kp.PublicKey)
			}
			if !strings.HasSuffix(kp.PublicKey, " keyhaven@test") || strings.Contains(kp.PublicKey, "\n") {
				t.Errorf("public key line %q", kp.PublicKey)
			}
			pubFile := writeFile(t, "id.pub", kp.PublicKey+"\n", 0o644)
			md5, sha := keygenFingerprints(t, pubFile)
			if kp.FingerprintMD5 != md5 || kp.FingerprintSHA256 != sha {
				t.Errorf("fingerprints %s %s, ssh-keygen says %s %s", kp.FingerprintMD5, kp.FingerprintSHA256, md5, sha)
			}
			parsed, err := ParseAuthorizedKey(kp.PublicKey)
			if err != nil || KeyTypeOf(parsed) != typ || parsed.FingerprintMD5() != md5 {
				t.Errorf("ParseAuthorizedKey of the generated line: %v, type %s", err, KeyTypeOf(parsed))
			}
			for f, ok := range formatsFor(typ) {
				data, err := kp.Private.Encode(f)
				if !ok {
					if !errors.Is(err, ErrFormatNotForType) {
						t.Errorf("%s: Encode gave %v, want ErrFormatNotForType", f, err)
					}
					continue
				}
				if err != nil {
					t.Fatalf("%s: %v", f, err)
				}
				if f == FormatPPK {
					continue // TestGeneratePuTTYgen
				}
				file := writeFile(t, "id", string(data), 0o600)
				if typ == Ed25519 && f == FormatPKCS8 {
					checkEd25519PKCS8(t, file, kp)
					continue
				}
				got := run(t, "ssh-keygen", "-y", "-f", file)
				if sameKey(got, kp.PublicKey) != nil {
					t.Errorf("%s: ssh-keygen -y gives %q, want %q", f, got, kp.PublicKey)
				}
			}
		})
	}
}

// checkEd25519PKCS8 checks a PKCS#8 Ed25519 key with openssl, because
// OpenSSH 9.2 (Debian 12's) reads Ed25519 keys only in its own format;
// where ssh-keygen does read the file, it must agree.
func checkEd25519PKCS8(t *testing.T, file string, kp *KeyPair) {
	t.Helper()
	needTool(t, "openssl")
	spki := run(t, "openssl", "pkey", "-in", file, "-pubout", "-outform", "DER")
	blob, _ := ParseAuthorizedKey(kp.PublicKey)
	if len(spki) < 32 || len(blob.Blob) < 32 || spki[len(spki)-32:] != string(blob.Blob[len(blob.Blob)-32:]) {
		t.Errorf("openssl derives another public key from the PKCS#8 Ed25519 key")
	}
	if got, err := execOutput("ssh-keygen", "-y", "-f", file); err == nil && sameKey(got, kp.PublicKey) != nil {
		t.Errorf("ssh-keygen -y gives %q, want %q", got, kp.PublicKey)
	}
}

// sameSecret reports whether two private keys are the same key, whatever
// the order of RSA's primes.
func sameSecret(a, b crypto.Signer) bool {
	if ra, ok := a.(*rsa.PrivateKey); ok {
		rb, ok := b.(*rsa.PrivateKey)
		return ok && ra.N.Cmp(rb.N) == 0 && ra.E == rb.E && ra.D.Cmp(rb.D) == 0
	}
	return a.(interface{ Equal(crypto.PrivateKey) bool }).Equal(b)
}

// sameKey checks that two authorized_keys lines hold the same key,
// whatever their comments.
func sameKey(a, b string) error {
	fa, fb := strings.Fields(a), strings.Fields(b)
	if len(fa) < 2 || len(fb) < 2 || fa[0] != fb[0] || fa[1] != fb[1] {
		return errors.New("different keys")
	}
	return nil
}

// TestGeneratePuTTYgen checks every generated type's PPK with the real
// puttygen: it must read the file (and so accept its MAC), give back the
// public key, and convert it to an OpenSSH private key that ssh-keygen
// reads as the same key.
func TestGeneratePuTTYgen(t *testing.T) {
	needTool(t, "puttygen")
	needTool(t, "ssh-keygen")
	for _, typ := range KeyTypes() {
		t.Run(string(typ), func(t *testing.T) {
			t.Parallel()
			kp, err := Generate(typ, "putty user@host")
			if err != nil {
				t.Fatal(err)
			}
			data, err := kp.Private.Encode(FormatPPK)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(string(data), "PuTTY-User-Key-File-3: "+kp.Algorithm+"\nEncryption: none\nComment: putty user@host\n") {
				t.Errorf("PPK header:\n%s", data)
			}
			file := writeFile(t, "id.ppk", string(data), 0o600)
			pub := run(t, "puttygen", file, "-O", "public-openssh")
			if sameKey(pub, kp.PublicKey) != nil || !strings.HasSuffix(strings.TrimSpace(pub), " putty user@host") {
				t.Errorf("puttygen public key %q, want %q", pub, kp.PublicKey)
			}
			// puttygen checks the MAC only when it loads the private
			// half, as these conversions do; the public export above
			// would pass with a wrong one.
			for _, conv := range []string{"private-openssh", "private-openssh-new"} {
				out := filepath.Join(t.TempDir(), "id")
				run(t, "puttygen", file, "-O", conv, "-o", out)
				if got := run(t, "ssh-keygen", "-y", "-f", out); sameKey(got, kp.PublicKey) != nil {
					t.Errorf("ssh-keygen -y of puttygen's %s conversion gives %q, want %q", conv, got, kp.PublicKey)
				}
				// The private half survives the trip too: Go's parsers
				// check RSA's CRT values, so a wrong iqmp would show.
				conv, _, err := ParsePrivateKey([]byte(readString(t, out)))
				if err != nil || !sameSecret(conv.key, kp.Private.key) {
					t.Errorf("puttygen's %s conversion reads back as another key: %v", out, err)
				}
			}
			// puttygen's own PPK of the same key, converted from our
			// OpenSSH file, is byte for byte ours: an unencrypted PPK has
			// nothing random in it.
			openssh, err := kp.Private.Encode(FormatOpenSSH)
			if err != nil {
				t.Fatal(err)
			}
			theirs := filepath.Join(t.TempDir(), "theirs.ppk")
			run(t, "puttygen", writeFile(t, "id", string(openssh), 0o600), "-O", "private", "-o", theirs)
			if got := readString(t, theirs); got != string(data) {
				t.Errorf("puttygen writes\n%s\nwe write\n%s", got, data)
			}
			// And it does check it: the same file with another comment
			// under the same MAC is refused.
			bad := writeFile(t, "bad.ppk", strings.Replace(string(data), "Comment: putty", "Comment: Putty", 1), 0o600)
			if out, err := execOutput("puttygen", bad, "-O", "private-openssh", "-o", filepath.Join(t.TempDir(), "x")); err == nil || !strings.Contains(out, "MAC failed") {
				t.Errorf("puttygen accepted a PPK with a wrong MAC: %v %s", err, out)
			}
		})
	}
}

func TestParseKeyTypeAndFormat(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want KeyType
	}{
		{"ed25519", Ed25519}, {"rsa-2048", RSA2048}, {"rsa-3072", RSA3072}, {"rsa-4096", RSA4096},
		{"ecdsa-p256", ECDSAP256}, {"ecdsa-p384", ECDSAP384}, {"ecdsa-p521", ECDSAP521},
		{"rsa-5000", ""}, {"rsa-1024", ""}, {"RSA-2048", ""}, {"dsa-1024", ""}, {"sk-ed25519", ""},
		{"", ""}, {"ed25519 ", ""}, {strings.Repeat("x", 1000), ""},
	} {
		got, err := ParseKeyType(tc.in)
		if got != tc.want || (err == nil) != (tc.want != "") {
			t.Errorf("ParseKeyType(%.20q) = %q, %v", tc.in, got, err)
		}
		if err != nil {
			if !errors.Is(err, ErrUnknownKeyType) || !strings.Contains(err.Error(), "allowed: rsa-2048, rsa-3072, rsa-4096, ed25519, ecdsa-p256, ecdsa-p384, ecdsa-p521") || len(err.Error()) > 200 {
				t.Errorf("ParseKeyType(%.20q) error %q", tc.in, err)
			}
			if _, gerr := Generate(KeyType(tc.in), ""); !errors.Is(gerr, ErrUnknownKeyType) {
				t.Errorf("Generate(%.20q) error %v", tc.in, gerr)
			}
		}
	}
	for _, tc := range []struct {
		in   string
		want Format
	}{
		{"openssh", FormatOpenSSH}, {"pkcs8", FormatPKCS8}, {"pkcs1", FormatPKCS1}, {"sec1", FormatSEC1}, {"ppk", FormatPPK},
		{"pem", ""}, {"PPK", ""}, {"", ""}, {"putty", ""},
	} {
		got, err := ParseFormat(tc.in)
		if got != tc.want || (err == nil) != (tc.want != "") {
			t.Errorf("ParseFormat(%q) = %q, %v", tc.in, got, err)
		}
		if err != nil && (!errors.Is(err, ErrUnknownFormat) || !strings.Contains(err.Error(), "allowed: openssh, pkcs8, pkcs1, sec1, ppk")) {
			t.Errorf("ParseFormat(%q) error %q", tc.in, err)
		}
	}
	kp, err := Generate(Ed25519, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kp.Private.Encode("pem"); !errors.Is(err, ErrUnknownFormat) {
		t.Errorf("Encode(pem): %v", err)
	}
	if _, err := kp.Private.Encode(FormatPKCS1); !errors.Is(err, ErrFormatNotForType) || !strings.Contains(err.Error(), "RSA") {
		t.Errorf("Encode(pkcs1) of Ed25519: %v", err)
	}
	if _, err := Generate(Ed25519, "two\nlines"); !errors.Is(err, ErrBadComment) {
		t.Errorf("comment with a newline: %v", err)
	}
	kp.Private.Zero()
	if _, err := kp.Private.Encode(FormatOpenSSH); err == nil {
		t.Error("a zeroed key still encodes")
	}
}

// TestZero checks that Zero overwrites the secret numbers this package
// can reach.
func TestZero(t *testing.T) {
	for _, typ := range []KeyType{RSA2048, Ed25519, ECDSAP256} {
		kp, err := Generate(typ, "")
		if err != nil {
			t.Fatal(err)
		}
		key := kp.Private.key
		kp.Private.Zero()
		switch k := key.(type) {
		case *rsa.PrivateKey:
			for _, x := range append([]*big.Int{k.D, k.Precomputed.Dp, k.Precomputed.Dq, k.Precomputed.Qinv}, k.Primes...) {
				if x.Sign() != 0 || !allZero(x.Bits()[:cap(x.Bits())]) {
					t.Errorf("%s: a secret number survived Zero", typ)
				}
			}
		case *ecdsa.PrivateKey:
			if k.D.Sign() != 0 || !allZero(k.D.Bits()[:cap(k.D.Bits())]) {
				t.Errorf("%s: D survived Zero", typ)
			}
		case ed25519.PrivateKey:
			if !allZero(k) {
				t.Errorf("%s: the key survived Zero", typ)
			}
		}
	}
}

func allZero[T byte | big.Word](s []T) bool {
	for _, v := range s {
		if v != 0 {
			return false
		}
	}
	return true
}

// TestCanonical checks that the canonical form of a quirky Nova line has
// the MD5 fingerprint ssh-keygen gives the key, while the line itself
// keeps Nova's.
func TestCanonical(t *testing.T) {
	needTool(t, "ssh-keygen")
	quirky := strings.Replace(novaEd, " ", "  ", 1) // Nova hashes the empty string
	k, err := ParseAuthorizedKey(quirky)
	if err != nil {
		t.Fatal(err)
	}
	md5, _ := keygenFingerprints(t, writeFile(t, "k.pub", novaEd, 0o644))
	c := k.Canonical()
	if c.FingerprintMD5() != md5 || k.FingerprintMD5() == md5 || c.String() != strings.TrimSpace(novaEd) {
		t.Errorf("canonical %s %q, Nova's %s, ssh-keygen %s", c.FingerprintMD5(), c, k.FingerprintMD5(), md5)
	}
}

func TestKeyTypeOf(t *testing.T) {
	for _, tc := range []struct {
		line string
		want KeyType
	}{
		{novaRSA, RSA2048}, {novaRSA4096, RSA4096}, {novaEd, Ed25519}, {novaDSA, "dsa-1024"},
		{novaEC256, ECDSAP256}, {novaEC384, ECDSAP384}, {novaEC521, ECDSAP521},
	} {
		k, err := ParseAuthorizedKey(tc.line)
		if err != nil {
			t.Fatal(err)
		}
		if got := KeyTypeOf(k); got != tc.want || got.SSHAlgorithm() != k.Type {
			t.Errorf("%.20s: %s (%s)", tc.line, got, got.SSHAlgorithm())
		}
	}
}
