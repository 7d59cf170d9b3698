package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// TestNamedKMSKeyAcrossProcesses runs two real keyhaven processes on one
// PostgreSQL database and one data directory. A named local key made by
// `keyhaven kms create-key` while both run, and a new version of it made
// by `keyhaven kms rotate`, are used by both without a restart: what one
// seals the other opens.
func TestNamedKMSKeyAcrossProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	db := postgresURL(t)
	data := filepath.Join(t.TempDir(), "shared-data")
	srvs := startProcesses(t, 2, testTokens, "--database", db, "--data-dir", data)
	a, b := srvs[0], srvs[1]
	cli := func(args ...string) string {
		t.Helper()
		var out bytes.Buffer
		env := func(string) string { return "" }
		if err := run(context.Background(), append([]string{"kms", "--data-dir", data, "--database", db}, args...), env, &out, &out); err != nil {
			t.Fatalf("keyhaven kms %s: %v\n%s", strings.Join(args, " "), err, out.String())
		}
		return out.String()
	}
	h := map[string]string{"X-Auth-Token": "alice-token", "Content-Type": "application/json"}
	base := "/v3/" + testProject + "/keypairs"
	post := func(srv *testServer, path, body string) map[string]any {
		t.Helper()
		resp, raw := srv.do(t, "POST", base+path, h, body)
		if resp.StatusCode != 200 {
			t.Fatalf("POST %s %s: %d %s", path, body, resp.StatusCode, raw)
		}
		var out map[string]any
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatal(err)
		}
		return out["keypair"].(map[string]any)
	}
	keyID := func(srv *testServer) string {
		t.Helper()
		resp, raw := srv.do(t, "GET", base+"/shared", h, "")
		var d struct {
			Keypair struct {
				KeyID string `json:"key_id"`
			} `json:"keypair"`
		}
		if resp.StatusCode != 200 || json.Unmarshal(raw, &d) != nil {
			t.Fatalf("detail: %d %s", resp.StatusCode, raw)
		}
		return d.Keypair.KeyID
	}
	export := `{"keypair": {"name": "shared"}}`

	// Made by a is sealed under kps/default, which both made at start.
	gen := post(a, "", `{"keypair": {"name": "shared", "key_protection": {"encryption": {"type": "kms", "kms_key_name": "kps/default"}}}}`)
	priv := gen["private_key"].(string)
	if got := post(b, "/private-key/export", export)["private_key"]; got != priv {
		t.Fatal("b exports another private key")
	}

	cli("create-key", "demo")
	privJSON, _ := json.Marshal(priv)
	reimport := `{"keypair": {"name": "shared", "key_protection": {"private_key": ` + string(privJSON) + `, "encryption": {"type": "kms", "kms_key_name": "demo"}}}}`
	post(a, "/private-key/import", reimport)
	if id := keyID(b); id != "local/demo@v1" {
		t.Fatalf("key_id = %s, want local/demo@v1", id)
	}
	if got := post(b, "/private-key/export", export)["private_key"]; got != priv {
		t.Fatal("b exports another private key after a re-sealed it under demo")
	}

	cli("rotate", "demo")
	post(b, "/private-key/import", reimport)
	if id := keyID(a); id != "local/demo@v2" {
		t.Fatalf("after rotate, b re-sealed under %s, want local/demo@v2", id)
	}
	if got := post(a, "/private-key/export", export)["private_key"]; got != priv {
		t.Fatal("a exports another private key after b re-sealed it under demo@v2")
	}
}
