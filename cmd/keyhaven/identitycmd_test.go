package main

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestIdentityCommand manages users, projects and roles with the
// subcommands, then logs in as the new user through the server.
func TestIdentityCommand(t *testing.T) {
	ctx := context.Background()
	data := filepath.Join(t.TempDir(), "data")
	env := func(k string) string {
		if k == "KEYHAVEN_BOOTSTRAP_PASSWORD" {
			return bootstrapPassword
		}
		return ""
	}
	run1 := func(args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		if err := run(ctx, append([]string{"identity", "--data-dir", data}, args...), env, &out, &errb); err != nil {
			t.Fatalf("identity %v: %v\n%s", args, err, errb.String())
		}
		return out.String()
	}
	run1("project", "create", "dev", "--description", "the dev team")
	run1("user", "create", "carol", "--password", "carol-pw", "--project", "dev", "--role", "member")
	run1("user", "create", "dan", "--password", "dan-pw")
	run1("role", "add", "--user", "dan", "--project", "dev", "reader")
	if out := run1("user", "list"); !strings.Contains(out, "carol") || !strings.Contains(out, "dan") || !strings.Contains(out, "admin") {
		t.Fatalf("user list:\n%s", out)
	}
	if out := run1("project", "list"); !strings.Contains(out, "dev") || !strings.Contains(out, "admin") {
		t.Fatalf("project list:\n%s", out)
	}
	roles := run1("role", "list")
	for _, want := range []string{"carol  dev      member", "dan    dev      reader", "admin  admin    admin"} {
		if !strings.Contains(roles, want) {
			t.Fatalf("role list lacks %q:\n%s", want, roles)
		}
	}
	for _, bad := range [][]string{{"user", "create", "x"}, {"role", "add", "member"}, {"user", "fly"}, {"user", "create", "eve", "--password", "p", "--project", "nope", "--role", "member"}} {
		if err := run(ctx, append([]string{"identity", "--data-dir", data}, bad...), env, io.Discard, io.Discard); err == nil {
			t.Errorf("identity %v succeeded", bad)
		}
	}

	srv := startServer(t, "", "--data-dir", data)
	body := `{"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "carol", "domain": {"id": "default"}, "password": "carol-pw"}}},
		"scope": {"project": {"name": "dev", "domain": {"id": "default"}}}}}`
	resp, raw := srv.do(t, "POST", "/identity/v3/auth/tokens", map[string]string{"Content-Type": "application/json"}, body)
	if resp.StatusCode != 201 {
		t.Fatalf("carol's login: %d %s", resp.StatusCode, raw)
	}
	carol := map[string]string{"X-Auth-Token": resp.Header.Get("X-Subject-Token")}
	if resp, raw := srv.do(t, "GET", "/v2.1/os-keypairs", carol, ""); resp.StatusCode != 200 {
		t.Fatalf("carol's token: %d %s", resp.StatusCode, raw)
	}

	// The commands that take access away act on the running server, which
	// learns of them from the database within its reload bound.
	for _, c := range [][]string{{"role", "remove", "--user", "dan", "--project", "dev", "reader"}, {"user", "disable", "carol"}, {"user", "enable", "carol"}, {"project", "disable", "dev"}, {"project", "enable", "dev"}, {"user", "delete", "dan"}} {
		run1(c...)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, _ := srv.do(t, "GET", "/v2.1/os-keypairs", carol, "")
		if resp.StatusCode == 401 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("carol's token 10 s after she was disabled: %d", resp.StatusCode)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if out := run1("user", "list"); strings.Contains(out, "dan") {
		t.Fatalf("dan not deleted:\n%s", out)
	}
	// Enabled again, carol logs in anew; her old token stays ended.
	if resp, raw := srv.do(t, "POST", "/identity/v3/auth/tokens", map[string]string{"Content-Type": "application/json"}, body); resp.StatusCode != 201 {
		t.Fatalf("carol's login after enabling: %d %s", resp.StatusCode, raw)
	}
	for _, bad := range [][]string{{"user", "delete", "nobody"}, {"role", "remove", "--user", "carol", "--project", "dev", "reader"}, {"project", "disable"}} {
		if err := run(ctx, append([]string{"identity", "--data-dir", data}, bad...), env, io.Discard, io.Discard); err == nil {
			t.Errorf("identity %v succeeded", bad)
		}
	}
}
