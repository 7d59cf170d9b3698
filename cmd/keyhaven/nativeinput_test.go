package main

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestNativeBadInput sends bad input for every field of keyhaven's own API:
// each is answered with problem details and a 4xx, never a 500, and the
// answer matches the OpenAPI document.
func TestNativeBadInput(t *testing.T) {
	_, _, c, _ := nativeUsers(t)
	c.want(201, "POST", "/keyhaven/v1/keypairs", `{"name": "k"}`, nil)
	past := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	var many []string
	for i := range 51 {
		many = append(many, fmt.Sprintf(`"t%d": "v"`, i))
	}
	pub, _ := sshKeyPair(t, "ed25519")
	_, otherPriv := sshKeyPair(t, "ed25519")
	for _, tc := range []struct {
		what, method, path, body string
		status                   int
		code                     string
	}{
		{"unknown type", "POST", "/keyhaven/v1/keypairs", `{"name": "a", "type": "dsa-1024"}`, 400, "invalid"},
		{"5000-bit RSA", "POST", "/keyhaven/v1/keypairs", `{"name": "a", "type": "rsa-5000"}`, 400, "invalid"},
		{"unknown format", "POST", "/keyhaven/v1/keypairs", `{"name": "a", "private_key_format": "jks"}`, 400, "invalid"},
		{"pkcs1 for ed25519", "POST", "/keyhaven/v1/keypairs", `{"name": "a", "type": "ed25519", "private_key_format": "pkcs1"}`, 400, "invalid"},
		{"bad tag key", "POST", "/keyhaven/v1/keypairs", `{"name": "a", "tags": {"a=b": "c"}}`, 400, "invalid"},
		{"empty tag key", "POST", "/keyhaven/v1/keypairs", `{"name": "a", "tags": {"": "c"}}`, 400, "invalid"},
		{"tag key too long", "POST", "/keyhaven/v1/keypairs", `{"name": "a", "tags": {"` + strings.Repeat("k", 129) + `": "c"}}`, 400, "invalid"},
		{"tag value too long", "POST", "/keyhaven/v1/keypairs", `{"name": "a", "tags": {"k": "` + strings.Repeat("v", 257) + `"}}`, 400, "invalid"},
		{"control character in tag value", "POST", "/keyhaven/v1/keypairs", `{"name": "a", "tags": {"k": "a\u0007b"}}`, 400, "invalid"},
		{"51 tags", "POST", "/keyhaven/v1/keypairs", `{"name": "a", "tags": {` + strings.Join(many, ", ") + `}}`, 400, "invalid"},
		{"tag value not a string", "POST", "/keyhaven/v1/keypairs", `{"name": "a", "tags": {"k": 1}}`, 400, "invalid"},
		{"expiry in the past", "POST", "/keyhaven/v1/keypairs", `{"name": "a", "expires_at": "` + past + `"}`, 400, "invalid"},
		{"expiry not a date", "POST", "/keyhaven/v1/keypairs", `{"name": "a", "expires_at": "tomorrow"}`, 400, "invalid"},
		{"ttl zero", "POST", "/keyhaven/v1/keypairs", `{"name": "a", "ttl": 0}`, 400, "invalid"},
		{"ttl not an integer", "POST", "/keyhaven/v1/keypairs", `{"name": "a", "ttl": "1h"}`, 400, "invalid"},
		{"ttl and expires_at", "POST", "/keyhaven/v1/keypairs", `{"name": "a", "ttl": 60, "expires_at": "2099-01-01T00:00:00Z"}`, 400, "invalid"},
		{"unknown field", "POST", "/keyhaven/v1/keypairs", `{"name": "a", "colour": "red"}`, 400, "invalid"},
		{"name not a string", "POST", "/keyhaven/v1/keypairs", `{"name": 5}`, 400, "invalid"},
		{"no name", "POST", "/keyhaven/v1/keypairs", `{}`, 400, "invalid"},
		{"name with a colon", "POST", "/keyhaven/v1/keypairs", `{"name": "a:rotate"}`, 400, "invalid"},
		{"name with a slash", "POST", "/keyhaven/v1/keypairs", `{"name": "a/b"}`, 400, "invalid"},
		{"name too long", "POST", "/keyhaven/v1/keypairs", `{"name": "` + strings.Repeat("n", 256) + `"}`, 400, "invalid"},
		{"name given twice", "POST", "/keyhaven/v1/keypairs", `{"name": "a", "name": "b"}`, 400, "invalid"},
		{"tag given twice", "POST", "/keyhaven/v1/keypairs", `{"name": "a", "tags": {"k": "1", "k": "2"}}`, 400, "invalid"},
		{"name of dots", "POST", "/keyhaven/v1/keypairs", `{"name": ".."}`, 400, "invalid"},
		{"not an object", "POST", "/keyhaven/v1/keypairs", `["a"]`, 400, "invalid"},
		{"trailing data", "POST", "/keyhaven/v1/keypairs", `{"name": "a"} {}`, 400, "invalid"},
		{"not JSON", "POST", "/keyhaven/v1/keypairs", `{"name": `, 400, "invalid"},
		{"empty body", "POST", "/keyhaven/v1/keypairs", ``, 400, "invalid"},
		{"oversized body", "POST", "/keyhaven/v1/keypairs", `{"name": "a", "description": "` + strings.Repeat("x", 70<<10) + `"}`, 413, "too_large"},
		{"description too long", "POST", "/keyhaven/v1/keypairs", `{"name": "a", "description": "` + strings.Repeat("x", 256) + `"}`, 400, "invalid"},
		{"bad public key", "POST", "/keyhaven/v1/keypairs", `{"name": "a", "public_key": "ssh-ed25519 AAAA"}`, 400, "invalid"},
		{"type with public key", "POST", "/keyhaven/v1/keypairs", `{"name": "a", "type": "ed25519", "public_key": "` + pub + `"}`, 400, "invalid"},
		{"private key without escrow", "POST", "/keyhaven/v1/keypairs", `{"name": "a", "public_key": "` + pub + `", "private_key": "x"}`, 400, "invalid"},
		{"mismatched private key", "POST", "/keyhaven/v1/keypairs", `{"name": "a", "public_key": "` + pub + `", "private_key": ` + jsonString(otherPriv) + `, "escrow": {}}`, 400, "invalid"},
		{"escrow not an object", "POST", "/keyhaven/v1/keypairs", `{"name": "a", "escrow": "yes"}`, 400, "invalid"},
		{"unknown escrow field", "POST", "/keyhaven/v1/keypairs", `{"name": "a", "escrow": {"kms": "x"}}`, 400, "invalid"},
		{"unknown KMS key", "POST", "/keyhaven/v1/keypairs", `{"name": "a", "escrow": {"kms_key": "no-such-key"}}`, 400, "invalid"},
		{"bad scope", "POST", "/keyhaven/v1/keypairs", `{"name": "a", "scope": "world"}`, 400, "invalid"},
		{"duplicate name", "POST", "/keyhaven/v1/keypairs", `{"name": "k"}`, 409, "conflict"},
		{"not JSON media type", "POST", "/keyhaven/v1/keypairs", `name=a`, 415, "unsupported_media_type"},

		{"malformed cursor", "GET", "/keyhaven/v1/keypairs?cursor=zzz", "", 400, "invalid"},
		{"tampered cursor", "GET", "/keyhaven/v1/keypairs?cursor=c1.aw.AAAAAAAAAAA", "", 400, "invalid"},
		{"empty cursor", "GET", "/keyhaven/v1/keypairs?cursor=", "", 400, "invalid"},
		{"limit zero", "GET", "/keyhaven/v1/keypairs?limit=0", "", 400, "invalid"},
		{"limit too large", "GET", "/keyhaven/v1/keypairs?limit=1001", "", 400, "invalid"},
		{"limit not a number", "GET", "/keyhaven/v1/keypairs?limit=ten", "", 400, "invalid"},
		{"unknown filter", "GET", "/keyhaven/v1/keypairs?colour=red", "", 400, "invalid"},
		{"bad tag filter", "GET", "/keyhaven/v1/keypairs?tag=env", "", 400, "invalid"},
		{"bad tag-key filter", "GET", "/keyhaven/v1/keypairs?tag-key=a%3Db", "", 400, "invalid"},
		{"unknown type filter", "GET", "/keyhaven/v1/keypairs?type=rsa-5000", "", 400, "invalid"},
		{"bad fingerprint filter", "GET", "/keyhaven/v1/keypairs?fingerprint=SHA256:short", "", 400, "invalid"},
		{"NUL in name-prefix", "GET", "/keyhaven/v1/keypairs?name-prefix=a%00", "", 400, "invalid"},
		{"all_users not a boolean", "GET", "/keyhaven/v1/keypairs?all_users=maybe", "", 400, "invalid"},
		{"all_users with user_id", "GET", "/keyhaven/v1/keypairs?all_users=true&user_id=x", "", 400, "invalid"},
		{"51 tag filters", "GET", "/keyhaven/v1/keypairs?" + strings.Repeat("tag-key=a&", 51), "", 400, "invalid"},
		{"limit given twice", "GET", "/keyhaven/v1/keypairs?limit=1&limit=2", "", 400, "invalid"},

		{"missing key pair", "GET", "/keyhaven/v1/keypairs/nope", "", 404, "not_found"},
		{"update nothing", "PATCH", "/keyhaven/v1/keypairs/k", `{}`, 400, "invalid"},
		{"update unknown field", "PATCH", "/keyhaven/v1/keypairs/k", `{"name": "x"}`, 400, "invalid"},
		{"update expiry in the past", "PATCH", "/keyhaven/v1/keypairs/k", `{"expires_at": "` + past + `"}`, 400, "invalid"},
		{"update expiry wrong type", "PATCH", "/keyhaven/v1/keypairs/k", `{"expires_at": 5}`, 400, "invalid"},
		{"update tags null", "PATCH", "/keyhaven/v1/keypairs/k", `{"tags": null}`, 400, "invalid"},
		{"update 51 tags", "PATCH", "/keyhaven/v1/keypairs/k", `{"tags": {` + strings.Join(many, ", ") + `}}`, 400, "invalid"},
		{"update description wrong type", "PATCH", "/keyhaven/v1/keypairs/k", `{"description": ["x"]}`, 400, "invalid"},

		{"rotate unknown type", "POST", "/keyhaven/v1/keypairs/k:rotate", `{"type": "rsa-5000"}`, 400, "invalid"},
		{"rotate unknown field", "POST", "/keyhaven/v1/keypairs/k:rotate", `{"name": "x"}`, 400, "invalid"},
		{"rotate bad public key", "POST", "/keyhaven/v1/keypairs/k:rotate", `{"public_key": "nope"}`, 400, "invalid"},
		{"rotate private key alone", "POST", "/keyhaven/v1/keypairs/k:rotate", `{"private_key": "x"}`, 400, "invalid"},
		{"rotate missing key pair", "POST", "/keyhaven/v1/keypairs/nope:rotate", `{}`, 404, "not_found"},
		{"export without escrow", "GET", "/keyhaven/v1/keypairs/k/private-key", "", 404, "not_found"},
		{"clear without escrow", "DELETE", "/keyhaven/v1/keypairs/k/private-key", "", 404, "not_found"},

		{"audit as a member", "GET", "/keyhaven/v1/audit", "", 403, "forbidden"},
		{"unknown path", "GET", "/keyhaven/v1/nothing", "", 404, "no_route"},
		{"unknown version", "GET", "/keyhaven/v2/keypairs", "", 404, "no_route"},
		{"wrong method", "PUT", "/keyhaven/v1/keypairs", `{}`, 405, "method_not_allowed"},
	} {
		t.Run(tc.what, func(t *testing.T) {
			cc := *c
			cc.t = t
			a := cc.do(tc.method, tc.path, tc.body, true)
			if tc.what == "not JSON media type" {
				a = cc.do(tc.method, tc.path, tc.body, true, "Content-Type", "application/x-www-form-urlencoded")
			}
			p := a.Problem(t)
			if a.Status != tc.status || p.Code != tc.code {
				t.Fatalf("%d %+v, want %d %s", a.Status, p, tc.status, tc.code)
			}
		})
	}
	// Nothing of it was created.
	var l nativeList
	c.want(200, "GET", "/keyhaven/v1/keypairs", "", &l)
	if len(l.KeyPairs) != 1 {
		t.Fatalf("bad input left key pairs: %v", l.names())
	}
}
