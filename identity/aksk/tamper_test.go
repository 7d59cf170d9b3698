package aksk_test

import (
	"errors"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/signer/algorithm"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/sdkerr"

	"github.com/keyhaven/keyhaven/identity"
	"github.com/keyhaven/keyhaven/identity/aksk"
)

const (
	mismatch     = "signature does not match"
	unsignedBody = "X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD is refused on a request with a body"
)

func shiftedClock(d time.Duration) func() time.Time {
	return func() time.Time { return time.Now().Add(d) }
}

// resign rewrites the Authorization header through f, keeping it well formed.
func resign(f func(*aksk.Authorization)) func(*http.Request) {
	return func(r *http.Request) {
		a, err := aksk.ParseAuthorization(r.Header.Get("Authorization"))
		if err != nil {
			panic(err)
		}
		f(&a)
		r.Header.Set("Authorization", a.String())
	}
}

// TestTamperedRequestsRefused changes SDK-signed requests after signing and
// checks that each is refused with 401 and the expected reason.
func TestTamperedRequestsRefused(t *testing.T) {
	get := listKeypairs("50", "marker 1")
	post := createKeypair("kh-key")
	cases := []struct {
		name   string
		cfg    aksk.Config
		opts   clientOpts
		call   sdkCall
		reason string // a prefix of the reason
	}{
		{name: "method changed", call: get, reason: mismatch,
			opts: clientOpts{tamper: func(r *http.Request) { r.Method = "DELETE" }}},
		{name: "path changed", call: get, reason: mismatch,
			opts: clientOpts{tamper: func(r *http.Request) { r.URL.Path = "/v3/other-project/keypairs" }}},
		{name: "path slash escaped", call: deleteKeypair("team/key"), reason: mismatch,
			opts: clientOpts{tamper: func(r *http.Request) {
				r.URL.RawPath = "/v3/" + projectID + "/keypairs/team%2Fkey"
			}}},
		{name: "trailing slash added keeps the SDK's canonical URI", call: get, reason: "",
			opts: clientOpts{tamper: func(r *http.Request) { r.URL.Path += "/" }}},
		{name: "query value changed", call: get, reason: mismatch,
			opts: clientOpts{tamper: func(r *http.Request) { r.URL.RawQuery = "limit=51&marker=marker%201" }}},
		{name: "query param added", call: get, reason: mismatch,
			opts: clientOpts{tamper: func(r *http.Request) { r.URL.RawQuery += "&all_tenants=1" }}},
		{name: "query param removed", call: get, reason: mismatch,
			opts: clientOpts{tamper: func(r *http.Request) { r.URL.RawQuery = "limit=50" }}},
		{name: "query with semicolon", call: get, reason: "malformed query string",
			opts: clientOpts{tamper: func(r *http.Request) { r.URL.RawQuery += ";x=1" }}},
		{name: "signed header changed", call: get, reason: mismatch,
			opts: clientOpts{tamper: func(r *http.Request) { r.Header.Set("X-Project-Id", "other-project") }}},
		{name: "signed header duplicated", call: get, reason: mismatch,
			opts: clientOpts{tamper: func(r *http.Request) { r.Header.Add("X-Project-Id", "other-project") }}},
		{name: "body changed by one byte", call: post, reason: mismatch,
			opts: clientOpts{tamper: func(r *http.Request) {
				r.Body = replaceBody(r, func(b []byte) { b[len(b)-3]++ })
			}}},
		{name: "body changed and declared unsigned", call: post, reason: unsignedBody,
			opts: clientOpts{tamper: func(r *http.Request) {
				r.Body = replaceBody(r, func(b []byte) { b[len(b)-3]++ })
				r.Header.Set(aksk.HeaderContentSHA256, aksk.UnsignedPayload)
			}}},
		{name: "body hash header wrong", call: post, reason: "request body does not match",
			opts: clientOpts{tamper: func(r *http.Request) {
				r.Header.Set(aksk.HeaderContentSHA256, strings.Repeat("0", 64))
			}}},
		{name: "X-Sdk-Date changed", call: get, reason: mismatch,
			opts: clientOpts{tamper: func(r *http.Request) {
				d, _ := time.Parse(aksk.DateFormat, r.Header.Get(aksk.HeaderDate))
				r.Header.Set(aksk.HeaderDate, d.Add(time.Second).Format(aksk.DateFormat))
			}}},
		{name: "date 16 minutes in the past", call: get, cfg: aksk.Config{Now: shiftedClock(16 * time.Minute)},
			reason: "request date is more than 15m0s away from the server's clock"},
		{name: "date 16 minutes in the future", call: get, cfg: aksk.Config{Now: shiftedClock(-16 * time.Minute)},
			reason: "request date is more than 15m0s away from the server's clock"},
		{name: "date within a custom skew", call: get, reason: "",
			cfg: aksk.Config{Now: shiftedClock(16 * time.Minute), MaxSkew: 20 * time.Minute}},
		{name: "malformed X-Sdk-Date", call: get, reason: "malformed X-Sdk-Date header",
			opts: clientOpts{tamper: func(r *http.Request) { r.Header.Set(aksk.HeaderDate, "2024-01-01T00:00:00Z") }}},
		{name: "missing X-Sdk-Date", call: get, reason: "missing X-Sdk-Date header",
			opts: clientOpts{tamper: func(r *http.Request) { r.Header.Del(aksk.HeaderDate) }}},
		{name: "x-sdk-date not signed", call: get, reason: "signed headers must include x-sdk-date",
			opts: clientOpts{tamper: resign(func(a *aksk.Authorization) { a.SignedHeaders = []string{"x-project-id"} })}},
		{name: "signed header list changed", call: get, reason: mismatch,
			opts: clientOpts{tamper: resign(func(a *aksk.Authorization) {
				a.SignedHeaders = append(a.SignedHeaders, "accept-encoding")
			})}},
		{name: "unknown access key", call: get, reason: "unknown access key",
			opts: clientOpts{ak: "NOSUCHKEY", sk: testSK}},
		{name: "access key refused by the source", call: get, reason: "access key is disabled",
			opts: clientOpts{ak: "DISABLED", sk: testSK}},
		{name: "wrong secret", call: post, reason: mismatch,
			opts: clientOpts{ak: testAK, sk: testSK + "x"}},
		{name: "derived signer with wrong secret", call: post, reason: mismatch,
			opts: clientOpts{ak: testAK, sk: "wrong", derived: true}},
		{name: "derived scope date changed", call: post, reason: "credential scope date does not match X-Sdk-Date",
			opts: clientOpts{derived: true, tamper: resign(func(a *aksk.Authorization) {
				a.Scope = "19990101" + a.Scope[8:]
			})}},
		{name: "missing Authorization", call: get, reason: "missing Authorization header",
			opts: clientOpts{tamper: func(r *http.Request) { r.Header.Del("Authorization") }}},
		{name: "malformed Authorization", call: get, reason: "malformed Authorization header: missing Signature",
			opts: clientOpts{tamper: func(r *http.Request) {
				h := r.Header.Get("Authorization")
				r.Header.Set("Authorization", h[:strings.Index(h, ", Signature=")])
			}}},
		{name: "SM3 signer unsupported", call: get, opts: clientOpts{alg: algorithm.HmacSM3},
			reason: `unsupported signature algorithm "SDK-HMAC-SM3"`},
		{name: "ECDSA signer unsupported", call: post, opts: clientOpts{alg: algorithm.EcdsaP256SHA256},
			reason: `unsupported signature algorithm "SDK-ECDSA-P256-SHA256"`},
	}
	hexRun := regexp.MustCompile(`[0-9a-f]{32,}`)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, tc.cfg)
			err := tc.call(h.kps(t, tc.opts))
			got := h.last(t)
			if tc.reason == "" {
				if err != nil || got.err != nil {
					t.Fatalf("SDK: %v; Authenticate: %v", err, got.err)
				}
				return
			}
			var sre *sdkerr.ServiceResponseError
			if !errors.As(err, &sre) || sre.StatusCode != http.StatusUnauthorized {
				t.Errorf("SDK error = %v, want a 401", err)
			}
			if !errors.Is(got.err, identity.ErrUnauthenticated) {
				t.Fatalf("Authenticate error %v is not ErrUnauthenticated", got.err)
			}
			reason := identity.Reason(got.err)
			if !strings.HasPrefix(reason, tc.reason) {
				t.Errorf("reason = %q, want prefix %q", reason, tc.reason)
			}
			if strings.Contains(reason, testSK) || strings.Contains(reason, "\n") || hexRun.MatchString(reason) {
				t.Errorf("reason %q is not log-safe", reason)
			}
		})
	}
}

// TestSecretSourceFailure checks that a failing secret source is a server
// error, not a refused credential.
func TestSecretSourceFailure(t *testing.T) {
	h := newHarness(t, aksk.Config{})
	err := listKeypairs("1", "")(h.kps(t, clientOpts{ak: "BROKEN", sk: "x"}))
	var sre *sdkerr.ServiceResponseError
	if !errors.As(err, &sre) || sre.StatusCode != http.StatusInternalServerError {
		t.Errorf("SDK error = %v, want a 500", err)
	}
	got := h.last(t).err
	if errors.Is(got, identity.ErrUnauthenticated) || !errors.Is(got, errDBDown) {
		t.Errorf("Authenticate error = %v, want a wrapped %v", got, errDBDown)
	}
}
