package main

import (
	"encoding/json"
	"strings"
	"testing"
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
		{"create: not json", "POST", base, `{`, 400, "KPS.0001"},
		{"create: empty", "POST", base, ``, 400, "KPS.0001"},
		{"create: trailing data", "POST", base, `{"keypair": {"name": "x"}} {}`, 400, "KPS.0001"},
		{"create: no wrapper", "POST", base, `{"name": "x"}`, 400, "KPS.0001"},
		{"create: missing name", "POST", base, `{"keypair": {}}`, 400, "KPS.0001"},
		{"create: name not a string", "POST", base, `{"keypair": {"name": 5}}`, 400, "KPS.0001"},
		{"create: extra field", "POST", base, `{"keypair": {"name": "x", "colour": "red"}}`, 400, "KPS.0001"},
		{"create: bad name", "POST", base, `{"keypair": {"name": "a b"}}`, 400, "KPS.0001"},
		{"create: long name", "POST", base, `{"keypair": {"name": "` + strings.Repeat("n", 65) + `"}}`, 400, "KPS.0001"},
		{"create: bad type", "POST", base, `{"keypair": {"name": "x", "type": "pgp"}}`, 400, "KPS.0001"},
		{"create: bad scope", "POST", base, `{"keypair": {"name": "x", "scope": "world"}}`, 400, "KPS.0001"},
		{"create: bad key", "POST", base, `{"keypair": {"name": "x", "public_key": "ssh-ed25519 AAAA"}}`, 400, "KPS.0005"},
		{"create: protection without type", "POST", base, `{"keypair": {"name": "x", "key_protection": {"encryption": {}}}}`, 400, "KPS.0001"},
		{"create: kms without key", "POST", base, `{"keypair": {"name": "x", "key_protection": {"encryption": {"type": "kms"}}}}`, 400, "KPS.0001"},
		{"create: imported without private key", "POST", base, `{"keypair": {"name": "x", "public_key": ` + string(pubJSON) + `, "key_protection": {"encryption": {"type": "default"}}}}`, 400, "KPS.0001"},
		{"create: oversized", "POST", base, huge, 413, "KPS.0015"},
		{"list: bad limit", "GET", base + "?limit=abc", "", 400, "KPS.0001"},
		{"list: zero limit", "GET", base + "?limit=0", "", 400, "KPS.0001"},
		{"list: unknown marker", "GET", base + "?marker=nope", "", 400, "KPS.0001"},
		{"list: unknown parameter", "GET", base + "?colour=red", "", 400, "KPS.0001"},
		{"update: missing description", "PUT", base + "/exists", `{"keypair": {}}`, 400, "KPS.0001"},
		{"update: long description", "PUT", base + "/exists", `{"keypair": {"description": "` + strings.Repeat("d", 256) + `"}}`, 400, "KPS.0001"},
		{"update: wrong type", "PUT", base + "/exists", `{"keypair": {"description": 1}}`, 400, "KPS.0001"},
		{"batch import: not a list", "POST", base + "/batch-import", `{"keypair": {}}`, 400, "KPS.0001"},
		{"batch import: empty list", "POST", base + "/batch-import", `[]`, 400, "KPS.0001"},
		{"export: missing name", "POST", base + "/private-key/export", `{"keypair": {}}`, 400, "KPS.0001"},
		{"export: no escrow", "POST", base + "/private-key/export", `{"keypair": {"name": "exists"}}`, 404, "KPS.0011"},
		{"batch export: too many", "POST", base + "/private-key/batch-export", `[` + strings.TrimSuffix(strings.Repeat(`{"keypair": {"name": "exists"}},`, 101), ",") + `]`, 400, "KPS.0001"},
		{"import private: missing key", "POST", base + "/private-key/import", `{"keypair": {"name": "exists"}}`, 400, "KPS.0001"},
		{"import private: bad key", "POST", base + "/private-key/import", `{"keypair": {"name": "exists", "key_protection": {"private_key": "junk", "encryption": {"type": "default"}}}}`, 400, "KPS.0013"},
		{"clear: nothing to clear", "DELETE", base + "/exists/private-key", "", 404, "KPS.0011"},
		{"unknown operation", "POST", base + "/private-key/shred", `{}`, 404, "KPS.0016"},
		{"method not allowed", "PATCH", base + "/exists", `{}`, 405, "KPS.0017"},
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
