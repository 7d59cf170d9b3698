package sshkey

import (
	"errors"
	"testing"
)

// The committed corpora under testdata/fuzz hold a key of each type in
// each format (throwaway keys made for the corpus) and the ways a file can
// be broken; f.Add adds a freshly generated one per format.

func FuzzParsePrivateKey(f *testing.F) {
	addGenerated(f)
	f.Add([]byte(skEd25519Private))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkParsed(t, data, func(b []byte) (*PrivateKey, Format, error) { return ParsePrivateKey(b) })
	})
}

func FuzzParsePPK(f *testing.F) {
	addGenerated(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		checkParsed(t, data, func(b []byte) (*PrivateKey, Format, error) {
			if len(b) > MaxPrivateKeyLength {
				return nil, "", ErrPrivateKeyMalformed
			}
			k, err := parsePPK(b)
			return k, FormatPPK, err
		})
	})
}

// addGenerated seeds f with an Ed25519 key in every format that holds it
// and an ECDSA key as SEC 1.
func addGenerated(f *testing.F) {
	for _, typ := range []KeyType{Ed25519, ECDSAP256} {
		kp, err := Generate(typ, "fuzz")
		if err != nil {
			f.Fatal(err)
		}
		for _, format := range Formats() {
			if data, err := kp.Private.Encode(format); err == nil {
				f.Add(data)
			}
		}
	}
}

// checkParsed holds a parser to ParsePrivateKey's contract: errors of the
// documented classes and short, and a parsed key that re-encodes in its
// own format to a file that parses back to the same key.
func checkParsed(t *testing.T, data []byte, parse func([]byte) (*PrivateKey, Format, error)) {
	k, format, err := parse(data)
	if err != nil {
		if !errors.Is(err, ErrPrivateKeyMalformed) && !errors.Is(err, ErrPrivateKeyEncrypted) && !errors.Is(err, ErrPrivateKeyType) {
			t.Fatalf("error of no documented class: %v", err)
		}
		if len(err.Error()) > 200 {
			t.Fatalf("error message of %d bytes", len(err.Error()))
		}
		return
	}
	pub := k.PublicKey()
	if _, err := ParseAuthorizedKey(pub.String()); err != nil {
		t.Fatalf("derived public key does not parse: %v", err)
	}
	if !k.Matches(pub) || !format.Supports(k.Type()) {
		t.Fatalf("type %s in format %s", k.Type(), format)
	}
	again, err := k.Encode(format)
	if err != nil {
		t.Fatalf("re-encoding as %s: %v", format, err)
	}
	k2, f2, err := ParsePrivateKey(again)
	if err != nil || f2 != format || !k2.Matches(pub) {
		t.Fatalf("re-encoded key reads back as %s: %v", f2, err)
	}
}
