package kps

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzTaskBodies feeds arbitrary bodies to the associate, disassociate
// and batch-associate decoders and their validation: never a panic, every
// refusal with a message, a port only in 1-65535, and no message that
// depends on server.auth.key (so none can carry it).
func FuzzTaskBodies(f *testing.F) {
	for _, s := range []string{
		`{"keypair_name": "k", "server": {"id": "s", "auth": {"type": "password", "key": "pw"}, "disable_password": true, "port": 22}}`,
		`{"keypair_name": "k", "server": {"id": "s", "auth": {"type": "keypair", "key": "-----BEGIN OPENSSH PRIVATE KEY-----"}}}`,
		`{"server": {"id": "s", "auth": {"type": "password", "key": "pw"}, "port": 2222}}`,
		`{"batch_keypairs": [{"keypair_name": "k", "server": {"id": "a"}}, {"keypair_name": "k", "server": {"id": "b", "port": 0}}]}`,
		`{"keypair_name": "k", "server": {"id": "s", "port": 70000}}`,
		`{"keypair_name": 5}`, `{"server": {"auth": {"type": "ssh"}}}`, `{`, ``, `[]`, `{"server": null} x`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		req := func() *http.Request { return httptest.NewRequest("POST", "/", strings.NewReader(body)) }
		var a associateBody
		if err := decode(req(), &a); err == nil {
			checkAssociate(t, &a)
		} else if _, msg := codeOf(err); msg == "" {
			t.Fatal("error without a message")
		}
		var d disassociateBody
		if err := decode(req(), &d); err == nil {
			in, err := disassociateInput(&d)
			msg := message(err)
			if d.Server != nil && d.Server.Auth != nil && d.Server.Auth.Key != nil {
				*d.Server.Auth.Key = "something else entirely"
				if _, err2 := disassociateInput(&d); message(err2) != msg {
					t.Fatalf("the message depends on the key: %q", msg)
				}
			}
			if err == nil && (in.Port < 0 || in.Port > 65535 || in.ServerID == "") {
				t.Fatalf("accepted %+v", in)
			}
		}
		var b batchAssociateBody
		if err := decode(req(), &b); err == nil && b.BatchKeypairs != nil {
			for i := range *b.BatchKeypairs {
				checkAssociate(t, &(*b.BatchKeypairs)[i])
			}
		}
	})
}

func message(err error) string {
	if err == nil {
		return ""
	}
	_, msg := codeOf(err)
	return msg
}

func checkAssociate(t *testing.T, a *associateBody) {
	t.Helper()
	in, err := associateInput(a)
	msg := message(err)
	if err != nil && msg == "" {
		t.Fatal("error without a message")
	}
	if a.Server != nil && a.Server.Auth != nil && a.Server.Auth.Key != nil {
		*a.Server.Auth.Key = "something else entirely"
		if _, err2 := associateInput(a); message(err2) != msg {
			t.Fatalf("the message depends on the key: %q", msg)
		}
	}
	if err == nil && (in.Port < 0 || in.Port > 65535 || in.ServerID == "" || in.KeyPairName == "") {
		t.Fatalf("accepted %+v", in)
	}
}
