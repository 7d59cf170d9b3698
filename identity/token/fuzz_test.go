package token

import (
	"testing"
	"time"
)

// FuzzOpen feeds arbitrary strings to Open: it must never panic and never
// accept anything it did not seal.
func FuzzOpen(f *testing.F) {
	ring, err := OpenKeyring(f.TempDir(), 3)
	if err != nil {
		f.Fatal(err)
	}
	iss := NewIssuer(ring)
	now := time.Now()
	valid, err := iss.Seal(Payload{UserID: "u", ProjectID: "p", Methods: []string{"password"}, IssuedAt: now, ExpiresAt: now.Add(time.Hour), AuditID: NewAuditID()})
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"", "AQAAAAE", "!!!", "AQAAAAEAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "gAAAAABk", "a.b.c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		p, err := iss.Open(tok, now)
		if err == nil && tok != valid {
			t.Fatalf("accepted a token it did not seal: %q -> %+v", tok, p)
		}
	})
}
