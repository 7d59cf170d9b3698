package aksk_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/identity"
	"github.com/keyhaven/keyhaven/identity/aksk"
)

// TestBodyRules checks what Verifier makes of a request's body: an
// unsigned body is refused, an empty one may go unsigned, and a body over
// the Verifier's or the server's limit is an *http.MaxBytesError for a 413,
// not a refused signature.
func TestBodyRules(t *testing.T) {
	json16 := `{"keypair":{}}  ` // 16 bytes
	cases := []struct {
		name        string
		req         func() *http.Request
		maxBody     int64 // Verifier's limit; 0 for the default
		serverLimit int64 // http.MaxBytesReader around the body; 0 for none
		reason      string
		tooLarge    int64 // the MaxBytesError's limit; 0 for none
	}{
		{name: "POST with an unsigned body", reason: unsignedBody,
			req: signed(t, "POST", pp+"/keypairs", "text/plain", "not json", signDate)},
		{name: "PUT with an unsigned body", reason: unsignedBody,
			req: signed(t, "PUT", pp+"/keypairs/k", "application/octet-stream", "\x00\x01", signDate)},
		{name: "unsigned body declared by hand on a JSON request", reason: unsignedBody,
			req: func() *http.Request {
				r := signed(t, "POST", pp+"/keypairs", "application/json", json16, signDate)()
				r.Header.Set(aksk.HeaderContentSHA256, aksk.UnsignedPayload)
				return r
			}},
		{name: "DELETE without a body may go unsigned",
			req: signed(t, "DELETE", pp+"/keypairs/k", "text/plain", "", signDate)},
		{name: "GET without a body may go unsigned",
			req: signed(t, "GET", pp+"/keypairs", "text/plain", "", signDate)},
		{name: "body at the Verifier's limit", maxBody: 16,
			req: signed(t, "POST", pp+"/keypairs", "application/json", json16, signDate)},
		{name: "body over the Verifier's limit", maxBody: 15, tooLarge: 15,
			req: signed(t, "POST", pp+"/keypairs", "application/json", json16, signDate)},
		{name: "body over the server's limit", serverLimit: 8, tooLarge: 8,
			req: signed(t, "POST", pp+"/keypairs", "application/json", json16, signDate)},
		{name: "body at the server's limit", serverLimit: 16,
			req: signed(t, "POST", pp+"/keypairs", "application/json", json16, signDate)},
		{name: "unsigned body over the server's limit is too large first", serverLimit: 4, tooLarge: 4,
			req: signed(t, "POST", pp+"/keypairs", "text/plain", "not json", signDate)},
		{name: "over the limit with a wrong signature is still too large", serverLimit: 8, tooLarge: 8,
			req: func() *http.Request {
				r := signed(t, "POST", pp+"/keypairs", "application/json", json16, signDate)()
				resign(func(a *aksk.Authorization) { a.Signature[0] ^= 1 })(r)
				return r
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := aksk.New(aksk.Config{Secrets: secrets, Now: atSignDate(time.Minute), MaxBody: c.maxBody})
			r := c.req()
			if c.serverLimit > 0 {
				r.Body = http.MaxBytesReader(nil, r.Body, c.serverLimit)
			}
			_, err := v.Authenticate(t.Context(), r)
			var mbe *http.MaxBytesError
			switch {
			case c.tooLarge > 0:
				if !errors.As(err, &mbe) || mbe.Limit != c.tooLarge || errors.Is(err, identity.ErrUnauthenticated) {
					t.Fatalf("got %v; want an *http.MaxBytesError of limit %d, not a refused signature", err, c.tooLarge)
				}
			case c.reason != "":
				if !errors.Is(err, identity.ErrUnauthenticated) || !strings.HasPrefix(identity.Reason(err), c.reason) {
					t.Fatalf("got %v; want a refusal starting %q", err, c.reason)
				}
			case err != nil:
				t.Fatalf("got %v; want accepted", err)
			}
		})
	}
}
