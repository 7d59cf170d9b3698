package main

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
)

// TestDomainDisabledRecoverable: an administrator who disables the
// Default domain through the API ends every token in it, their own too,
// and no one can log in to undo it. The identity command on the data
// directory must be able to enable the domain again, as it can a user or
// a project.
func TestDomainDisabledRecoverable(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	srv := startServer(t, "", "--data-dir", data, "--bootstrap-password", bootstrapPassword)
	adminTok, _, _ := adminToken(t, srv)
	adminCall(t, srv, adminTok, "PATCH", "/identity/v3/domains/default", `{"domain": {"enabled": false}}`, 200)
	login := `{"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "admin", "domain": {"id": "default"}, "password": "` +
		bootstrapPassword + `"}}}, "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}}`
	if resp, raw := srv.do(t, "POST", "/identity/v3/auth/tokens", map[string]string{"Content-Type": "application/json"}, login); resp.StatusCode != 401 {
		t.Fatalf("admin login in the disabled domain: %d %s, want 401", resp.StatusCode, raw)
	}
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"identity", "--data-dir", data, "domain", "enable", "Default"},
		func(string) string { return "" }, &out, &errb); err != nil {
		t.Fatalf("identity domain enable Default: %v\n%s", err, errb.String())
	}
	if resp, raw := srv.do(t, "POST", "/identity/v3/auth/tokens", map[string]string{"Content-Type": "application/json"}, login); resp.StatusCode != 201 {
		t.Fatalf("admin login after the domain was enabled again: %d %s", resp.StatusCode, raw)
	}
}
