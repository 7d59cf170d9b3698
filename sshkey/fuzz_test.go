package sshkey

import (
	"encoding/base64"
	"strings"
	"testing"
)

// The committed corpora under testdata/fuzz hold one seed per key type and
// per kind of bad input; f.Add adds the few that need no file.

func FuzzParseAuthorizedKey(f *testing.F) {
	for _, s := range []string{novaEd, novaRSA, novaEC256, novaDSA, "", "hello world"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, err := ParseAuthorizedKey(s)
		if err != nil {
			return
		}
		if fp := k.FingerprintMD5(); len(fp) != 47 {
			t.Fatalf("MD5 fingerprint %q", fp)
		}
		if fp := k.FingerprintSHA256(); len(fp) != 50 || !strings.HasPrefix(fp, "SHA256:") {
			t.Fatalf("SHA-256 fingerprint %q", fp)
		}
		if k.Comment != strings.TrimSpace(k.Comment) {
			t.Fatalf("untrimmed comment %q", k.Comment)
		}
		// The key itself must survive a canonical re-encoding, which has
		// none of the quirks that can change Nova's fingerprint.
		again, err := ParseAuthorizedKey(k.Type + " " + base64.StdEncoding.EncodeToString(k.Blob))
		if err != nil {
			t.Fatalf("canonical form of %q does not parse: %v", s, err)
		}
		if again.Type != k.Type || string(again.Blob) != string(k.Blob) || again.novaData != nil {
			t.Fatalf("canonical form of %q parses differently", s)
		}
	})
}

func FuzzX509Fingerprint(f *testing.F) {
	for _, s := range []string{novaCert, "", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fp, err := X509Fingerprint(s)
		if err != nil {
			if len(err.Error()) > 1024 {
				t.Fatalf("error message of %d bytes", len(err.Error()))
			}
			return
		}
		if len(fp) != 59 {
			t.Fatalf("fingerprint %q", fp)
		}
	})
}
