package main

import (
	"encoding/json"
	"strings"
	"testing"

	kpsapi "github.com/keyhaven/keyhaven/api/kps"
)

// TestKPSBadInput sends malformed requests to every KPS operation: each
// gets a 4xx in KPS's format, never a 500, and nothing is written.
func TestKPSBadInput(t *testing.T) {
	srv := startIdentityServer(t)
	tok, _, project := adminToken(t, srv)
	h := map[string]string{"X-Auth-Token": tok, "Content-Type": "application/json"}
	base := "/v3/" + project + "/keypairs"
	pub, _ := sshKeygen(t, "-t", "ed25519")
	pubJSON, _ := json.Marshal(strings.TrimSpace(pub))
	if resp, raw := srv.do(t, "POST", base, h, `{"keypair": {"name": "exists", "public_key": `+string(pubJSON)+`}}`); resp.StatusCode != 200 {
		t.Fatalf("setup: %d %s", resp.StatusCode, raw)
	}
	huge := `{"keypair": {"name": "big", "public_key": "` + strings.Repeat("A", 70<<10) + `"}}`
	tests := []struct {
		name, method, path, body string
		status                   int
		code                     string
	}{
		{"create: not json", "POST", base, `{`, 400, kpsapi.ErrInvalidParameter.Code},
		{"create: empty", "POST", base, ``, 400, kpsapi.ErrInvalidParameter.Code},
		{"create: trailing data", "POST", base, `{"keypair": {"name": "x"}} {}`, 400, kpsapi.ErrInvalidParameter.Code},
		{"create: no wrapper", "POST", base, `{"name": "x"}`, 400, kpsapi.ErrInvalidParameter.Code},
		{"create: missing name", "POST", base, `{"keypair": {}}`, 400, kpsapi.ErrInvalidParameter.Code},
		{"create: name not a string", "POST", base, `{"keypair": {"name": 5}}`, 400, kpsapi.ErrInvalidParameter.Code},
		{"create: extra field", "POST", base, `{"keypair": {"name": "x", "colour": "red"}}`, 400, kpsapi.ErrInvalidParameter.Code},
		{"create: bad name", "POST", base, `{"keypair": {"name": "a b"}}`, 400, kpsapi.ErrInvalidParameter.Code},
		{"create: long name", "POST", base, `{"keypair": {"name": "` + strings.Repeat("n", 65) + `"}}`, 400, kpsapi.ErrInvalidParameter.Code},
		{"create: bad type", "POST", base, `{"keypair": {"name": "x", "type": "pgp"}}`, 400, kpsapi.ErrInvalidParameter.Code},
		{"create: bad scope", "POST", base, `{"keypair": {"name": "x", "scope": "world"}}`, 400, kpsapi.ErrInvalidParameter.Code},
		{"create: bad key", "POST", base, `{"keypair": {"name": "x", "public_key": "ssh-ed25519 AAAA"}}`, 400, kpsapi.ErrInvalidPublicKey.Code},
		{"create: protection without type", "POST", base, `{"keypair": {"name": "x", "key_protection": {"encryption": {}}}}`, 400, kpsapi.ErrInvalidParameter.Code},
		{"create: kms without key", "POST", base, `{"keypair": {"name": "x", "key_protection": {"encryption": {"type": "kms"}}}}`, 400, kpsapi.ErrInvalidParameter.Code},
		{"create: imported without private key", "POST", base, `{"keypair": {"name": "x", "public_key": ` + string(pubJSON) + `, "key_protection": {"encryption": {"type": "default"}}}}`, 400, kpsapi.ErrInvalidParameter.Code},
		{"create: oversized", "POST", base, huge, 413, kpsapi.ErrTooLarge.Code},
		{"list: bad limit", "GET", base + "?limit=abc", "", 400, kpsapi.ErrInvalidParameter.Code},
		{"list: zero limit", "GET", base + "?limit=0", "", 400, kpsapi.ErrInvalidParameter.Code},
		{"list: unknown marker", "GET", base + "?marker=nope", "", 400, kpsapi.ErrInvalidParameter.Code},
		{"list: unknown parameter", "GET", base + "?colour=red", "", 400, kpsapi.ErrInvalidParameter.Code},
		{"update: missing description", "PUT", base + "/exists", `{"keypair": {}}`, 400, kpsapi.ErrInvalidParameter.Code},
		{"update: long description", "PUT", base + "/exists", `{"keypair": {"description": "` + strings.Repeat("d", 256) + `"}}`, 400, kpsapi.ErrInvalidParameter.Code},
		{"update: wrong type", "PUT", base + "/exists", `{"keypair": {"description": 1}}`, 400, kpsapi.ErrInvalidParameter.Code},
		{"batch import: not a list", "POST", base + "/batch-import", `{"keypair": {}}`, 400, kpsapi.ErrInvalidParameter.Code},
		{"batch import: empty list", "POST", base + "/batch-import", `[]`, 400, kpsapi.ErrInvalidParameter.Code},
		{"export: missing name", "POST", base + "/private-key/export", `{"keypair": {}}`, 400, kpsapi.ErrInvalidParameter.Code},
		{"export: no escrow", "POST", base + "/private-key/export", `{"keypair": {"name": "exists"}}`, 404, kpsapi.ErrNoPrivateKey.Code},
		{"batch export: too many", "POST", base + "/private-key/batch-export", `[` + strings.TrimSuffix(strings.Repeat(`{"keypair": {"name": "exists"}},`, 101), ",") + `]`, 400, kpsapi.ErrInvalidParameter.Code},
		{"import private: missing key", "POST", base + "/private-key/import", `{"keypair": {"name": "exists"}}`, 400, kpsapi.ErrInvalidParameter.Code},
		{"import private: bad key", "POST", base + "/private-key/import", `{"keypair": {"name": "exists", "key_protection": {"private_key": "junk", "encryption": {"type": "default"}}}}`, 400, kpsapi.ErrInvalidPrivateKey.Code},
		{"clear: nothing to clear", "DELETE", base + "/exists/private-key", "", 404, kpsapi.ErrNoPrivateKey.Code},
		{"unknown operation", "POST", base + "/private-key/shred", `{}`, 404, kpsapi.ErrResourceNotFound.Code},
		{"method not allowed", "PATCH", base + "/exists", `{}`, 405, kpsapi.ErrMethodNotAllowed.Code},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, raw := srv.do(t, tt.method, tt.path, h, tt.body)
			var body struct {
				Code string `json:"error_code"`
				Msg  string `json:"error_msg"`
			}
			if err := json.Unmarshal(raw, &body); err != nil || resp.StatusCode != tt.status || body.Code != tt.code || body.Msg == "" {
				t.Fatalf("%d %s; want %d %s", resp.StatusCode, raw, tt.status, tt.code)
			}
		})
	}
	resp, raw := srv.do(t, "GET", base, h, "")
	if resp.StatusCode != 200 || strings.Count(string(raw), `"name"`) != 1 {
		t.Fatalf("bad requests wrote something: %s", raw)
	}
}
