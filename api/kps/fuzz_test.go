package kps

import (
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzCreateBody feeds arbitrary bodies to the create decoder and its
// validation: never a panic, and whatever passes has a KPS-valid name.
func FuzzCreateBody(f *testing.F) {
	for _, s := range []string{
		`{"keypair": {"name": "k"}}`,
		`{"keypair": {"name": "k", "type": "ssh", "scope": "domain", "public_key": "x", "user_id": "u",
		  "key_protection": {"private_key": "p", "encryption": {"type": "kms", "kms_key_name": "n", "kms_key_id": "i"}}}}`,
		`{"keypair": {"name": 5}}`, `{`, ``, `[]`, `{"keypair": null}`, `{"keypair": {"name": "a b"}} x`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var b createBody
		if err := decode(httptest.NewRequest("POST", "/", strings.NewReader(body)), &b); err != nil {
			if _, msg := codeOf(err); msg == "" {
				t.Fatal("error without a message")
			}
			return
		}
		in, err := createInput(&b)
		if err == nil && !kpsName.MatchString(in.Name) {
			t.Fatalf("accepted name %q", in.Name)
		}
	})
}
