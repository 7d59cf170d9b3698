package sshkey

import (
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"math/big"
	"os"
	"strings"
	"testing"
)

func TestParseAuthorizedKeyNovaFingerprints(t *testing.T) {
	tests := []struct {
		name, line, typ, md5, comment string
	}{
		{"rsa", novaRSA, "ssh-rsa", "53:cd:3b:64:c6:d0:42:4e:5c:e3:c6:87:ca:05:4b:6a", "alice@example"},
		{"rsa4096", novaRSA4096, "ssh-rsa", "5d:1f:0c:ab:92:ac:5f:07:4a:88:5d:4a:24:ef:9e:00", "big"},
		{"ed25519", novaEd, "ssh-ed25519", "13:9d:9e:13:0b:bc:cb:65:ee:ae:ca:e1:9c:a9:52:63", "ed"},
		{"ed25519 no comment", "ssh-ed25519 " + field(novaEd, 1), "ssh-ed25519", "13:9d:9e:13:0b:bc:cb:65:ee:ae:ca:e1:9c:a9:52:63", ""},
		{"ecdsa256", novaEC256, "ecdsa-sha2-nistp256", "81:a3:21:a6:9e:04:48:90:30:aa:56:5a:d7:f1:e0:4b", "root@vm"},
		{"ecdsa384", novaEC384, "ecdsa-sha2-nistp384", "41:71:94:ee:52:62:43:06:9a:3b:ec:99:07:7b:d7:d0", "root@vm"},
		{"ecdsa521", novaEC521, "ecdsa-sha2-nistp521", "e9:2d:a4:94:b3:2f:99:f2:99:db:a2:b8:cd:a4:97:9b", "root@vm"},
		{"dsa", novaDSA, "ssh-dss", "11:eb:16:80:d3:44:11:ab:77:39:31:ec:82:6b:5f:c8", "root@vm"},
		// Quirks of a real Nova, checked against it: its fingerprint is the
		// MD5 of base64.b64decode(public_key.split(' ')[1]).
		{"two spaces hash nothing", "ssh-ed25519  " + field(novaEd, 1) + " ed", "ssh-ed25519", "d4:1d:8c:d9:8f:00:b2:04:e9:80:09:98:ec:f8:42:7e", "ed"},
		{"tab hashes the comment", "ssh-ed25519\t" + field(novaEd, 1) + " test", "ssh-ed25519", "9e:de:94:7a:76:b6:af:18:f5:19:96:d0:81:7a:c4:96", "test"},
		{"non-alphabet bytes skipped", "ssh-ed25519 AAAAC3Nza!C1lZDI1NTE5AAAAIBrCjG9fCb9CCti5X/udSkBtPhQj1xLbHxE4m6K/RpWu", "ssh-ed25519", "13:9d:9e:13:0b:bc:cb:65:ee:ae:ca:e1:9c:a9:52:63", ""},
		{"text after padding ignored", strings.Replace(novaEC256, "oRg=", "oRg=junk", 1), "ecdsa-sha2-nistp256", "81:a3:21:a6:9e:04:48:90:30:aa:56:5a:d7:f1:e0:4b", "root@vm"},
		{"comment after newline, padded blob", "ecdsa-sha2-nistp256 " + field(novaEC256, 1) + "\nsecond line", "ecdsa-sha2-nistp256", "81:a3:21:a6:9e:04:48:90:30:aa:56:5a:d7:f1:e0:4b", "second line"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := ParseAuthorizedKey(tt.line)
			if err != nil {
				t.Fatalf("ParseAuthorizedKey: %v", err)
			}
			if k.Type != tt.typ || k.Comment != tt.comment {
				t.Errorf("got type %q comment %q, want %q %q", k.Type, k.Comment, tt.typ, tt.comment)
			}
			if got := k.FingerprintMD5(); got != tt.md5 {
				t.Errorf("FingerprintMD5 = %s, want %s", got, tt.md5)
			}
		})
	}
}

// TestParseAuthorizedKeySSHKeygen checks every key type ssh-keygen can
// make against ssh-keygen's own fingerprints.
func TestParseAuthorizedKeySSHKeygen(t *testing.T) {
	needTool(t, "ssh-keygen")
	tests := []struct {
		name string
		args []string
		typ  string
	}{
		{"rsa2048", []string{"-t", "rsa", "-b", "2048"}, "ssh-rsa"},
		{"rsa1024", []string{"-t", "rsa", "-b", "1024"}, "ssh-rsa"},
		{"dsa", []string{"-t", "dsa"}, "ssh-dss"},
		{"ecdsa256", []string{"-t", "ecdsa", "-b", "256"}, "ecdsa-sha2-nistp256"},
		{"ecdsa384", []string{"-t", "ecdsa", "-b", "384"}, "ecdsa-sha2-nistp384"},
		{"ecdsa521", []string{"-t", "ecdsa", "-b", "521"}, "ecdsa-sha2-nistp521"},
		{"ed25519", []string{"-t", "ed25519"}, "ssh-ed25519"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			priv := writeFile(t, "key", "", 0o600)
			os.Remove(priv)
			args := append([]string{"-q", "-N", "", "-C", "test@keyhaven", "-f", priv}, tt.args...)
			if out, err := execOutput("ssh-keygen", args...); err != nil {
				if tt.typ == "ssh-dss" {
					t.Skipf("this ssh-keygen cannot make DSA keys (%v: %s); novaDSA covers them", err, out)
				}
				t.Fatalf("ssh-keygen: %v: %s", err, out)
			}
			line, err := os.ReadFile(priv + ".pub")
			if err != nil {
				t.Fatal(err)
			}
			k, err := ParseAuthorizedKey(string(line))
			if err != nil {
				t.Fatalf("ParseAuthorizedKey(%q): %v", line, err)
			}
			md5, sha := keygenFingerprints(t, priv+".pub")
			if k.Type != tt.typ || k.Comment != "test@keyhaven" {
				t.Errorf("type %q comment %q", k.Type, k.Comment)
			}
			if got := k.FingerprintMD5(); got != md5 {
				t.Errorf("FingerprintMD5 = %s, ssh-keygen says %s", got, md5)
			}
			if got := k.FingerprintSHA256(); got != sha {
				t.Errorf("FingerprintSHA256 = %s, ssh-keygen says %s", got, sha)
			}
		})
	}
}

// TestParseAuthorizedKeySK builds FIDO keys by hand (PROTOCOL.u2f: the
// plain key's fields followed by the application string), since making
// real ones needs a token, and checks ssh-keygen reads them the same way.
func TestParseAuthorizedKeySK(t *testing.T) {
	needTool(t, "ssh-keygen")
	edPub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ec, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	point := ec.PublicKey().Bytes() // uncompressed, as SSH wants it
	for _, blob := range [][]byte{
		sshBlob("sk-ssh-ed25519@openssh.com", []byte(edPub), "ssh:"),
		sshBlob("sk-ecdsa-sha2-nistp256@openssh.com", "nistp256", point, "ssh:"),
	} {
		typ := string(blob[4 : 4+binary.BigEndian.Uint32(blob)])
		t.Run(typ, func(t *testing.T) {
			line := typ + " " + base64.StdEncoding.EncodeToString(blob) + " fido@keyhaven\n"
			k, err := ParseAuthorizedKey(line)
			if err != nil {
				t.Fatalf("ParseAuthorizedKey: %v", err)
			}
			md5, sha := keygenFingerprints(t, writeFile(t, "sk.pub", line, 0o644))
			if k.Type != typ || k.FingerprintMD5() != md5 || k.FingerprintSHA256() != sha {
				t.Errorf("got %s %s %s, ssh-keygen says %s %s", k.Type, k.FingerprintMD5(), k.FingerprintSHA256(), md5, sha)
			}
			// Without the application string the key is incomplete.
			short := blob[:len(blob)-8]
			if _, err := ParseAuthorizedKey(typ + " " + base64.StdEncoding.EncodeToString(short)); err == nil {
				t.Error("accepted an sk key without its application")
			}
		})
	}
}

// sshBlob encodes SSH wire strings; a []byte is a string, a string is too.
func sshBlob(fields ...any) []byte {
	var b []byte
	for _, f := range fields {
		var v []byte
		switch f := f.(type) {
		case string:
			v = []byte(f)
		case []byte:
			v = f
		case *big.Int: // an mpint, positive here
			v = f.Bytes()
			if len(v) > 0 && v[0]&0x80 != 0 {
				v = append([]byte{0}, v...)
			}
		}
		b = binary.BigEndian.AppendUint32(b, uint32(len(v)))
		b = append(b, v...)
	}
	return b
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func TestParseAuthorizedKeyBad(t *testing.T) {
	edBlob, _ := base64.StdEncoding.DecodeString(field(novaEd, 1))
	rsaBlob, _ := base64.StdEncoding.DecodeString(field(novaRSA, 1))
	ecBlob, _ := base64.StdEncoding.DecodeString(field(novaEC256, 1))
	offCurve := append([]byte(nil), ecBlob...)
	offCurve[len(offCurve)-1] ^= 1
	compressed := sshBlob("ecdsa-sha2-nistp256", "nistp256", append([]byte{2}, ecBlob[len(ecBlob)-64:len(ecBlob)-32]...))
	one := big.NewInt(1)
	huge := new(big.Int).Sub(new(big.Int).Lsh(one, 16392), one)
	p2048 := new(big.Int).Sub(new(big.Int).Lsh(one, 2048), big.NewInt(159))
	q160 := new(big.Int).Sub(new(big.Int).Lsh(one, 160), big.NewInt(47))
	n := new(big.Int).SetBytes(rsaBlob[len(rsaBlob)-256:])

	tests := []struct{ name, line string }{
		{"empty", ""},
		{"leading space", " " + novaEd},
		{"leading newline", "\n" + novaEd},
		{"one word", "ssh-ed25519"},
		{"type and spaces only", "ssh-ed25519   "},
		{"garbage", "hello world"},
		{"bad base64", "ssh-rsa AAAAnotbase64!!"},
		{"missing padding", strings.Replace(novaEC256, "oRg=", "oRg", 1)},
		{"type mismatch", "ssh-ed25519 " + field(novaRSA, 1)},
		{"private key", novaEdPrivate},
		{"truncated blob", "ssh-ed25519 " + b64(edBlob[:len(edBlob)-5])},
		{"trailing bytes", "ssh-ed25519 " + b64(append(edBlob[:len(edBlob):len(edBlob)], 0))},
		{"certificate type", "ssh-ed25519-cert-v01@openssh.com " + b64(sshBlob("ssh-ed25519-cert-v01@openssh.com", "nonce", edBlob[19:]))},
		{"unknown type", "ssh-foo " + b64(sshBlob("ssh-foo", "x"))},
		{"rsa-sha2-256 is not a key type", "rsa-sha2-256 " + b64(sshBlob("rsa-sha2-256", big.NewInt(65537), n))},
		{"ecdsa point off curve", "ecdsa-sha2-nistp256 " + b64(offCurve)},
		{"ecdsa compressed point", "ecdsa-sha2-nistp256 " + b64(compressed)},
		{"ecdsa curve mismatch", "ecdsa-sha2-nistp256 " + b64(sshBlob("ecdsa-sha2-nistp256", "nistp384", ecBlob[len(ecBlob)-65:]))},
		{"ecdsa empty point", "ecdsa-sha2-nistp256 " + b64(sshBlob("ecdsa-sha2-nistp256", "nistp256", ""))},
		{"ed25519 short key", "ssh-ed25519 " + b64(sshBlob("ssh-ed25519", make([]byte, 31)))},
		{"rsa over 16384 bits", "ssh-rsa " + b64(sshBlob("ssh-rsa", big.NewInt(65537), huge))},
		{"rsa even exponent", "ssh-rsa " + b64(sshBlob("ssh-rsa", big.NewInt(65536), n))},
		{"rsa exponent not below modulus", "ssh-rsa " + b64(sshBlob("ssh-rsa", n, n))},
		{"rsa negative modulus", "ssh-rsa " + b64(sshBlob("ssh-rsa", big.NewInt(3), append([]byte{0x80}, n.Bytes()...)))},
		{"dsa 2048-bit p", "ssh-dss " + b64(sshBlob("ssh-dss", p2048, q160, big.NewInt(2), big.NewInt(5)))},
		{"huge line", strings.TrimSpace(novaEd) + " " + strings.Repeat("x", MaxLineLength)},
		// Nova's second decode of split(' ')[1] fails although the key
		// itself is fine.
		{"tab and no comment", "ssh-ed25519\t" + field(novaEd, 1)},
		{"non-ASCII glued to blob", "ssh-ed25519 " + field(novaEd, 1) + "é"},
		{"newline after unpadded blob", "ssh-ed25519 " + field(novaEd, 1) + "\nsecond line"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := ParseAuthorizedKey(tt.line)
			if err == nil {
				t.Fatalf("accepted: %+v", k)
			}
			if len(err.Error()) > 120 {
				t.Errorf("error message too long: %q", err)
			}
		})
	}
}

func TestPyA2BBase64(t *testing.T) {
	tests := []struct {
		in, out string
		ok      bool
	}{
		{"", "", true},
		{"QUJD", "ABC", true},
		{"QUI=", "AB", true},
		{"QQ==", "A", true},
		{"QQ==QUJD", "A", true}, // stops at complete padding
		{"Q=Q==", "A", true},    // a '=' too early is skipped
		{"Q U\nI=", "AB", true}, // whitespace skipped
		{"QU!!JD", "ABC", true}, // so is anything outside the alphabet
		{"QUI", "", false},      // unpadded tail of 3
		{"QQ", "", false},       // unpadded tail of 2
		{"QUJDQ", "", false},    // one too many
		{"QQ=", "", false},      // half a padding
		{"QUJD-_", "ABC", true}, // URL-safe letters are not base64 here
		{"QUJD\xff\x80", "ABC", true},
	}
	for _, tt := range tests {
		got, err := pyA2BBase64(tt.in)
		if (err == nil) != tt.ok || (err == nil && string(got) != tt.out) {
			t.Errorf("pyA2BBase64(%q) = %q, %v; want %q ok=%v", tt.in, got, err, tt.out, tt.ok)
		}
	}
}

// TestParseAuthorizedKeyCertificate: Nova (through cryptography) accepts
// OpenSSH certificates; keyhaven refuses them on purpose.
func TestParseAuthorizedKeyCertificate(t *testing.T) {
	needTool(t, "ssh-keygen")
	dir := t.TempDir()
	for _, name := range []string{"ca", "user"} {
		if out, err := execOutput("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", dir+"/"+name); err != nil {
			t.Fatalf("ssh-keygen: %v: %s", err, out)
		}
	}
	if out, err := execOutput("ssh-keygen", "-q", "-s", dir+"/ca", "-I", "id", "-n", "alice", dir+"/user.pub"); err != nil {
		t.Fatalf("ssh-keygen -s: %v: %s", err, out)
	}
	cert, err := os.ReadFile(dir + "/user-cert.pub")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(cert), "ssh-ed25519-cert-v01@openssh.com ") {
		t.Fatalf("unexpected certificate line %q", cert)
	}
	if _, err := ParseAuthorizedKey(string(cert)); err == nil {
		t.Error("accepted an OpenSSH certificate")
	}
}
