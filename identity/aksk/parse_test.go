package aksk_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/signer"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/request"

	"github.com/keyhaven/keyhaven/identity"
	"github.com/keyhaven/keyhaven/identity/aksk"
)

var (
	sigHex  = strings.Repeat("0123456789abcdef", 4)
	sigUp   = strings.ToUpper(sigHex)
	sigB, _ = hex.DecodeString(sigHex)
	goodSDK = "SDK-HMAC-SHA256 Access=AK1, SignedHeaders=x-project-id;x-sdk-date, Signature=" + sigHex
	goodV11 = "V11-HMAC-SHA256 Credential=AK1/20240102/kh-test-1/kps, SignedHeaders=x-sdk-date, Signature=" + sigHex
)

func TestParseAuthorization(t *testing.T) {
	sdk := aksk.Authorization{Algorithm: aksk.AlgorithmHMACSHA256, AccessKey: "AK1",
		SignedHeaders: []string{"x-project-id", "x-sdk-date"}, Signature: sigB}
	v11 := aksk.Authorization{Algorithm: aksk.AlgorithmDerived, AccessKey: "AK1", Scope: "20240102/kh-test-1/kps",
		SignedHeaders: []string{"x-sdk-date"}, Signature: sigB}
	cases := []struct {
		in   string
		want aksk.Authorization
	}{
		{goodSDK, sdk},
		{goodV11, v11},
		{"SDK-HMAC-SHA256   Access=AK1 ,SignedHeaders=x-project-id;x-sdk-date,Signature=" + sigUp + " ", sdk},
		{"SDK-HMAC-SHA256 Signature=" + sigHex + ", SignedHeaders=x-project-id;x-sdk-date, Access=AK1", sdk},
	}
	for _, tc := range cases {
		got, err := aksk.ParseAuthorization(tc.in)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseAuthorization(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
	if sdk.String() != goodSDK || v11.String() != goodV11 {
		t.Errorf("String() = %q, %q", sdk.String(), v11.String())
	}
}

const mal = "malformed Authorization header: "

var malformedCases = []struct{ in, reason string }{
	{"SDK-HMAC-SHA256", mal + "no parameters after the algorithm"},
	{"SDK-HMAC-SHA256 Access=AK1, SignedHeaders=x-sdk-date", mal + "missing Signature"},
	{"SDK-HMAC-SHA256 SignedHeaders=x-sdk-date, Signature=" + sigHex, mal + "missing Access"},
	{"SDK-HMAC-SHA256 Access=AK1, Signature=" + sigHex, mal + "missing SignedHeaders"},
	{"SDK-HMAC-SHA256 Access=AK1, SignedHeaders=x-sdk-date, Signature=", mal + "Signature is not 64 hexadecimal digits"},
	{"SDK-HMAC-SHA256 Access=AK1, SignedHeaders=x-sdk-date, Signature=" + strings.Repeat("zz", 32), mal + "Signature is not 64"},
	{"SDK-HMAC-SHA256 Access=AK1, SignedHeaders=x-sdk-date, Signature=" + sigHex[2:], mal + "Signature is not 64"},
	{"SDK-HMAC-SHA256 Access=AK1, Access=AK2, SignedHeaders=x-sdk-date, Signature=" + sigHex, mal + "duplicate Access"},
	{goodSDK + ", Signature=" + sigHex, mal + "duplicate Signature"},
	{"AWS4-HMAC-SHA256 Credential=AK1/20240102/r/s3/aws4_request, SignedHeaders=host, Signature=" + sigHex,
		`unsupported signature algorithm "AWS4-HMAC-SHA256"`},
	{strings.ToLower(goodSDK), `unsupported signature algorithm "sdk-hmac-sha256"`},
	{"Bearer abc", `unsupported signature algorithm "Bearer"`},
	{"SDK-HMAC-SHA256 Access=AK1,, SignedHeaders=x-sdk-date, Signature=" + sigHex, mal + "empty parameter"},
	{goodSDK + ",", mal + "empty parameter"},
	{"SDK-HMAC-SHA256 , Access=AK1, SignedHeaders=x-sdk-date, Signature=" + sigHex, mal + "empty parameter"},
	{"SDK-HMAC-SHA256 Access AK1, SignedHeaders=x-sdk-date, Signature=" + sigHex, mal + "parameter without '='"},
	{goodSDK + ", Date=now", mal + "unknown parameter"},
	{"SDK-HMAC-SHA256 Access=, SignedHeaders=x-sdk-date, Signature=" + sigHex, mal + "empty or invalid access key"},
	{"SDK-HMAC-SHA256 Access=A K, SignedHeaders=x-sdk-date, Signature=" + sigHex, mal + "empty or invalid access key"},
	{"SDK-HMAC-SHA256 Access=AK1; SignedHeaders=x-sdk-date; Signature=" + sigHex, mal + "missing SignedHeaders"},
	{"SDK-HMAC-SHA256 Access=AK1, SignedHeaders=, Signature=" + sigHex, mal + "SignedHeaders must be"},
	{"SDK-HMAC-SHA256 Access=AK1, SignedHeaders=X-Sdk-Date, Signature=" + sigHex, mal + "SignedHeaders must be"},
	{"SDK-HMAC-SHA256 Access=AK1, SignedHeaders=host;;x-sdk-date, Signature=" + sigHex, mal + "SignedHeaders must be"},
	{"V11-HMAC-SHA256 Credential=AK1, SignedHeaders=x-sdk-date, Signature=" + sigHex, mal + "Credential is not"},
	{"V11-HMAC-SHA256 Credential=AK1/2024012/r/s, SignedHeaders=x-sdk-date, Signature=" + sigHex, mal + "Credential is not"},
	{"V11-HMAC-SHA256 Access=AK1, SignedHeaders=x-sdk-date, Signature=" + sigHex, mal + "unknown parameter"},
}

func TestParseAuthorizationMalformed(t *testing.T) {
	for _, tc := range malformedCases {
		_, err := aksk.ParseAuthorization(tc.in)
		if !errors.Is(err, identity.ErrUnauthenticated) || !strings.HasPrefix(identity.Reason(err), tc.reason) {
			t.Errorf("ParseAuthorization(%q) error = %v, want reason %q", tc.in, err, tc.reason)
		}
	}
}

// TestAuthenticateMalformedAuthorization sends each malformed header to the
// Verifier.
func TestAuthenticateMalformedAuthorization(t *testing.T) {
	v := aksk.New(aksk.Config{Secrets: secrets})
	for _, tc := range malformedCases {
		r, _ := http.NewRequest("GET", "http://kps.example.com/v3/p/keypairs", nil)
		r.Header.Set("Authorization", tc.in)
		r.Header.Set(aksk.HeaderDate, time.Now().UTC().Format(aksk.DateFormat))
		_, err := v.Authenticate(context.Background(), r)
		if !errors.Is(err, identity.ErrUnauthenticated) || !strings.HasPrefix(identity.Reason(err), tc.reason) {
			t.Errorf("Authenticate(%q) error = %v, want reason %q", tc.in, err, tc.reason)
		}
	}
}

func TestApplies(t *testing.T) {
	for h, want := range map[string]bool{
		goodSDK: true, goodV11: true, "SDK-HMAC-SM3 Access=a": true, "": false,
		"Bearer x": false, "AWS4-HMAC-SHA256 Credential=x": false, "sdk-hmac-sha256 x": false,
	} {
		r, _ := http.NewRequest("GET", "http://x/", nil)
		if h != "" {
			r.Header.Set("Authorization", h)
		}
		if got := aksk.Applies(r); got != want {
			t.Errorf("Applies(%q) = %v", h, got)
		}
	}
}

func FuzzParseAuthorization(f *testing.F) {
	for _, s := range []string{goodSDK, goodV11, ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		a, err := aksk.ParseAuthorization(h)
		if err != nil {
			if !errors.Is(err, identity.ErrUnauthenticated) || identity.Reason(err) == "" {
				t.Fatalf("error %v is not an AuthError with a reason", err)
			}
			return
		}
		b, err := aksk.ParseAuthorization(a.String())
		if err != nil || !reflect.DeepEqual(a, b) {
			t.Fatalf("round trip of %q: %+v -> %q -> %+v, %v", h, a, a.String(), b, err)
		}
	})
}

// fuzzDate is the signing time of FuzzAuthenticate's seed.
const fuzzDate = "20240102T030405Z"

func FuzzAuthenticate(f *testing.F) {
	body := []byte(`{"keypair":{"name":"fuzz"}}`)
	r := request.NewHttpRequestBuilder().WithEndpoint("https://kps.example.com").WithMethod("POST").
		WithPath("/v3/"+projectID+"/keypairs").AddHeaderParam("Content-Type", "application/json").
		AddHeaderParam(aksk.HeaderDate, fuzzDate).WithBody("", string(body)).Build()
	hdrs, err := signer.Sign(r, testAK, testSK)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(hdrs["Authorization"], fuzzDate, "/v3/"+projectID+"/keypairs", "", body)
	f.Add(goodV11, "20240102T030405Z", "/a%20b/", "x=1&y", []byte(nil))
	f.Add("SDK-HMAC-SHA256 Access="+testAK+", SignedHeaders=host;x-sdk-date, Signature="+sigHex, "x", "%", ";", body)
	now, _ := time.Parse(aksk.DateFormat, fuzzDate)
	v := aksk.New(aksk.Config{Secrets: secrets, Now: func() time.Time { return now }, MaxBody: 1 << 10})
	f.Fuzz(func(t *testing.T, auth, date, path, query string, body []byte) {
		r := &http.Request{Method: "POST", Host: "kps.example.com", Header: http.Header{},
			URL: &url.URL{Path: path, RawQuery: query}, Body: io.NopCloser(bytes.NewReader(body))}
		r.Header.Set("Authorization", auth)
		r.Header.Set(aksk.HeaderDate, date)
		r.Header.Set("Content-Type", "application/json")
		p, err := v.Authenticate(context.Background(), r)
		switch {
		case err == nil && !reflect.DeepEqual(p, testPrincipal):
			t.Fatalf("accepted with principal %+v", p)
		case err != nil && !errors.Is(err, identity.ErrUnauthenticated) && !errors.Is(err, errDBDown) &&
			!errors.As(err, new(*http.MaxBytesError)):
			t.Fatalf("unexpected error kind: %v", err)
		}
		if got, _ := io.ReadAll(r.Body); err == nil && !bytes.Equal(got, body) {
			t.Fatalf("body not restored")
		}
	})
}

// TestFuzzSeedVerifies makes sure FuzzAuthenticate starts from a request
// that verifies.
func TestFuzzSeedVerifies(t *testing.T) {
	body := `{"keypair":{"name":"fuzz"}}`
	r := request.NewHttpRequestBuilder().WithEndpoint("https://kps.example.com").WithMethod("POST").
		WithPath("/v3/"+projectID+"/keypairs").AddHeaderParam("Content-Type", "application/json").
		AddHeaderParam(aksk.HeaderDate, fuzzDate).WithBody("", body).Build()
	hdrs, _ := signer.Sign(r, testAK, testSK)
	hr, _ := http.NewRequest("POST", "https://kps.example.com/v3/"+projectID+"/keypairs", strings.NewReader(body))
	hr.Header.Set("Authorization", hdrs["Authorization"])
	hr.Header.Set(aksk.HeaderDate, fuzzDate)
	hr.Header.Set("Content-Type", "application/json")
	now, _ := time.Parse(aksk.DateFormat, fuzzDate)
	v := aksk.New(aksk.Config{Secrets: secrets, Now: func() time.Time { return now.Add(time.Minute) }})
	if _, err := v.Authenticate(context.Background(), hr); err != nil {
		t.Fatal(err)
	}
}
