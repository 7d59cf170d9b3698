package sshkey

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestParsePrivateKeyRoundTrip reads back every type in every format it
// was written in: same format, same key, same comment where the format
// keeps one.
func TestParsePrivateKeyRoundTrip(t *testing.T) {
	for _, typ := range KeyTypes() {
		kp, err := Generate(typ, "round trip")
		if err != nil {
			t.Fatal(err)
		}
		pub, err := ParseAuthorizedKey(kp.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		for f, ok := range formatsFor(typ) {
			if !ok {
				continue
			}
			t.Run(string(typ)+"/"+string(f), func(t *testing.T) {
				data, err := kp.Private.Encode(f)
				if err != nil {
					t.Fatal(err)
				}
				k, gotF, err := ParsePrivateKey(data)
				if err != nil {
					t.Fatalf("ParsePrivateKey: %v", err)
				}
				if gotF != f || k.Type() != typ || !k.Matches(pub) || k.PublicKey().String() != pubWithComment(pub, k.Comment) {
					t.Errorf("format %s type %s matches %v line %q", gotF, k.Type(), k.Matches(pub), k.PublicKey())
				}
				if f == FormatPPK && k.Comment != "round trip" {
					t.Errorf("PPK comment %q", k.Comment)
				}
				again, err := k.Encode(f)
				if err != nil {
					t.Fatal(err)
				}
				if f != FormatOpenSSH && string(again) != string(data) { // openssh has random check bytes
					t.Errorf("re-encoding differs:\n%s\n%s", data, again)
				}
				if _, _, err := CheckPrivateKey(data, pub); err != nil {
					t.Errorf("CheckPrivateKey: %v", err)
				}
				other, _ := Generate(Ed25519, "")
				otherPub, _ := ParseAuthorizedKey(other.PublicKey)
				if _, _, err := CheckPrivateKey(data, otherPub); !errors.Is(err, ErrPrivateKeyMismatch) {
					t.Errorf("CheckPrivateKey with another public key: %v", err)
				}
			})
		}
	}
}

func pubWithComment(pub *PublicKey, comment string) string {
	c := *pub
	c.Comment = comment
	return c.String()
}

// TestParsePrivateKeyRealTools reads keys the real ssh-keygen and
// puttygen made, in each format they write, and derives the public key
// ssh-keygen derives.
func TestParsePrivateKeyRealTools(t *testing.T) {
	needTool(t, "ssh-keygen")
	needTool(t, "puttygen")
	for _, tc := range []struct {
		typ, bits string
		want      KeyType
	}{
		{"rsa", "2048", RSA2048}, {"rsa", "3072", RSA3072}, {"rsa", "1024", "rsa-1024"},
		{"ed25519", "", Ed25519},
		{"ecdsa", "256", ECDSAP256}, {"ecdsa", "384", ECDSAP384}, {"ecdsa", "521", ECDSAP521},
	} {
		t.Run(tc.typ+tc.bits, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			key := filepath.Join(dir, "id")
			args := []string{"-q", "-t", tc.typ, "-N", "", "-C", "made@by-ssh-keygen", "-f", key}
			if tc.bits != "" {
				args = append(args, "-b", tc.bits)
			}
			run(t, "ssh-keygen", args...)
			want := run(t, "ssh-keygen", "-y", "-f", key)
			files := map[Format]string{FormatOpenSSH: key}
			if tc.typ != "ed25519" { // ssh-keygen writes Ed25519 in its own format only
				for f, m := range map[Format]string{FormatPKCS8: "PKCS8", FormatPKCS1: "PEM"} {
					p := filepath.Join(dir, string(f))
					copyFile(t, key, p)
					run(t, "ssh-keygen", "-q", "-p", "-N", "", "-m", m, "-f", p)
					if tc.typ == "ecdsa" && f == FormatPKCS1 {
						f = FormatSEC1 // -m PEM writes EC PRIVATE KEY
					}
					files[f] = p
				}
			}
			ppk := filepath.Join(dir, "id.ppk")
			run(t, "puttygen", key, "-O", "private", "-o", ppk)
			files[FormatPPK] = ppk
			// PuTTY before 0.75 wrote version 2; puttygen still can.
			ppk2 := filepath.Join(dir, "id2.ppk")
			run(t, "puttygen", key, "-O", "private", "--ppk-param", "version=2", "-o", ppk2)
			files["ppk2"] = ppk2
			for f, p := range files {
				data, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				k, gotF, err := ParsePrivateKey(data)
				if err != nil {
					t.Errorf("%s: %v", f, err)
					continue
				}
				wantF := f
				if f == "ppk2" {
					wantF = FormatPPK
				}
				if gotF != wantF || k.Type() != tc.want || sameKey(k.PublicKey().String(), want) != nil {
					t.Errorf("%s: read as %s %s %q, ssh-keygen derives %q", f, gotF, k.Type(), k.PublicKey(), want)
				}
			}
		})
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestParsePrivateKeyRefused covers what ParsePrivateKey must refuse, each
// with the error class the API maps to a status.
func TestParsePrivateKeyRefused(t *testing.T) {
	needTool(t, "ssh-keygen")
	needTool(t, "puttygen")
	dir := t.TempDir()
	enc := filepath.Join(dir, "enc")
	run(t, "ssh-keygen", "-q", "-t", "ed25519", "-N", "secret", "-f", enc)
	encPEM := filepath.Join(dir, "encpem")
	run(t, "ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-m", "PEM", "-N", "secret", "-f", encPEM)
	encPPK := filepath.Join(dir, "enc.ppk")
	pass := writeFile(t, "pass", "secret\n", 0o600)
	run(t, "puttygen", "-t", "ed25519", "-o", encPPK, "--new-passphrase", pass)
	dsa := filepath.Join(dir, "dsa")
	_, dsaErr := execOutput("ssh-keygen", "-q", "-t", "dsa", "-N", "", "-m", "PEM", "-f", dsa)

	kp, err := Generate(Ed25519, "c")
	if err != nil {
		t.Fatal(err)
	}
	ppk, _ := kp.Private.Encode(FormatPPK)
	openssh, _ := kp.Private.Encode(FormatOpenSSH)
	badMAC := strings.Replace(string(ppk), "Comment: c\n", "Comment: d\n", 1)
	lines := strings.Split(string(ppk), "\n")
	tests := []struct {
		name string
		data string
		want error
	}{
		{"empty", "", ErrPrivateKeyMalformed},
		{"garbage", "hello", ErrPrivateKeyMalformed},
		{"public key", kp.PublicKey, ErrPrivateKeyMalformed},
		{"unknown block", "-----BEGIN FOO-----\nAAAA\n-----END FOO-----\n", ErrPrivateKeyMalformed},
		{"bad der", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", ErrPrivateKeyMalformed},
		{"two keys", string(openssh) + string(openssh), ErrPrivateKeyMalformed},
		{"too long", string(openssh) + strings.Repeat(" ", MaxPrivateKeyLength), ErrPrivateKeyMalformed},
		{"openssh encrypted", readString(t, enc), ErrPrivateKeyEncrypted},
		{"pkcs1 encrypted", readString(t, encPEM), ErrPrivateKeyEncrypted},
		{"ppk encrypted", readString(t, encPPK), ErrPrivateKeyEncrypted},
		{"ppk bad MAC", badMAC, ErrPrivateKeyMalformed},
		{"ppk truncated", strings.Join(lines[:len(lines)-2], "\n"), ErrPrivateKeyMalformed},
		{"ppk version 1", strings.Replace(string(ppk), "File-3", "File-1", 1), ErrPrivateKeyMalformed},
		{"ppk huge count", strings.Replace(string(ppk), "Public-Lines: 2", "Public-Lines: 99999999999999999999", 1), ErrPrivateKeyMalformed},
		{"ppk negative count", strings.Replace(string(ppk), "Public-Lines: 2", "Public-Lines: -1", 1), ErrPrivateKeyMalformed},
	}
	if dsaErr == nil {
		tests = append(tests, struct {
			name string
			data string
			want error
		}{"dsa", readString(t, dsa), ErrPrivateKeyType})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := ParsePrivateKey([]byte(tc.data))
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if len(err.Error()) > 200 || strings.Contains(err.Error(), "AAAA") {
				t.Errorf("error message %q", err)
			}
		})
	}
}

func readString(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
