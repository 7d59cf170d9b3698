package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestOpenStackCLI drives keyhaven with the real openstack CLI and a plain
// clouds.yaml, password auth against the built-in identity, the way an
// operator would.
func TestOpenStackCLI(t *testing.T) {
	requireCLI(t)
	srv := startIdentityServer(t)
	dir := t.TempDir()
	osc := cli(t, srv, dir, "admin", bootstrapPassword, "admin")
	var tok map[string]string
	decodeJSON(t, osc("token", "issue", "-f", "json"), &tok)
	if tok["id"] == "" || tok["project_id"] == "" || tok["user_id"] == "" {
		t.Fatalf("token issue: %v", tok)
	}

	// Generate: the CLI prints the private key, which OpenSSH reads.
	priv := osc("keypair", "create", "generated")
	privPath := filepath.Join(dir, "generated")
	if err := os.WriteFile(privPath, []byte(priv), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("ssh-keygen", "-y", "-f", privPath).CombinedOutput(); err != nil {
		t.Fatalf("the generated private key does not load in ssh-keygen: %v\n%s", err, out)
	}

	pub, fp := sshKeygen(t, "-t", "ecdsa", "-b", "256")
	pubPath := filepath.Join(dir, "imported.pub")
	if err := os.WriteFile(pubPath, []byte(pub), 0o600); err != nil {
		t.Fatal(err)
	}
	var imported map[string]any
	decodeJSON(t, osc("keypair", "create", "--public-key", pubPath, "imported", "-f", "json"), &imported)
	if imported["fingerprint"] != fp {
		t.Fatalf("import: %v, want fingerprint %s", imported, fp)
	}

	var list []map[string]any
	decodeJSON(t, osc("keypair", "list", "-f", "json"), &list)
	if len(list) != 2 || list[0]["Name"] != "generated" || list[1]["Name"] != "imported" {
		t.Fatalf("keypair list: %v", list)
	}
	var shown map[string]any
	decodeJSON(t, osc("keypair", "show", "imported", "-f", "json"), &shown)
	if shown["fingerprint"] != fp || shown["user_id"] != tok["user_id"] {
		t.Fatalf("keypair show: %v", shown)
	}
	osc("keypair", "delete", "generated", "imported")
	decodeJSON(t, osc("keypair", "list", "-f", "json"), &list)
	if len(list) != 0 {
		t.Fatalf("after delete: %v", list)
	}

	var cred map[string]any
	decodeJSON(t, osc("ec2", "credentials", "create", "-f", "json"), &cred)
	access, _ := cred["access"].(string)
	if access == "" || cred["secret"] == "" || cred["project_id"] != tok["project_id"] {
		t.Fatalf("ec2 credentials create: %v", cred)
	}
	var creds []map[string]any
	decodeJSON(t, osc("ec2", "credentials", "list", "-f", "json"), &creds)
	if len(creds) != 1 || creds[0]["Access"] != access {
		t.Fatalf("ec2 credentials list: %v", creds)
	}
	osc("ec2", "credentials", "delete", access)
	decodeJSON(t, osc("ec2", "credentials", "list", "-f", "json"), &creds)
	if len(creds) != 0 {
		t.Fatalf("after ec2 credentials delete: %v", creds)
	}
}

// cli returns a function running the real openstack CLI as user, with a
// plain clouds.yaml written to dir, failing the test if the CLI fails.
func cli(t *testing.T, srv *testServer, dir, user, password, project string) func(args ...string) string {
	t.Helper()
	try := cliTry(t, srv, dir, user, password, project)
	return func(args ...string) string {
		t.Helper()
		out, err := try(args...)
		if err != nil {
			t.Fatalf("openstack %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
}

// cliTry is cli for commands that may fail: it returns the error.
func cliTry(t *testing.T, srv *testServer, dir, user, password, project string) func(args ...string) (string, error) {
	t.Helper()
	clouds := `clouds:
  keyhaven:
    auth:
      auth_url: ` + srv.URL + `/identity
      username: ` + user + `
      password: ` + password + `
      project_name: ` + project + `
      user_domain_name: Default
      project_domain_name: Default
    identity_api_version: 3
    region_name: RegionOne
`
	cloudsPath := filepath.Join(dir, user+"-clouds.yaml")
	if err := os.WriteFile(cloudsPath, []byte(clouds), 0o600); err != nil {
		t.Fatal(err)
	}
	return func(args ...string) (string, error) {
		cmd := exec.Command("openstack", args...)
		cmd.Env = append(os.Environ(), "OS_CLIENT_CONFIG_FILE="+cloudsPath, "OS_CLOUD=keyhaven", "HOME="+dir)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
}

func decodeJSON(t *testing.T, out string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("%v in %q", err, out)
	}
}

// TestOpenStackCLIAdmin manages users, projects and roles with the real
// CLI, then acts as those users: a member may create key pairs, a reader
// may only look, a disabled user may not log in.
func TestOpenStackCLIAdmin(t *testing.T) {
	requireCLI(t)
	srv := startIdentityServer(t)
	dir := t.TempDir()
	admin := cli(t, srv, dir, "admin", bootstrapPassword, "admin")
	admin("project", "create", "dev")
	admin("user", "create", "--password", "alice-pw", "--domain", "Default", "alice")
	admin("user", "create", "--password", "rita-pw", "--domain", "Default", "rita")
	admin("role", "add", "--user", "alice", "--project", "dev", "member")
	admin("role", "add", "--user", "rita", "--project", "dev", "reader")
	var assignments []map[string]any
	decodeJSON(t, admin("role", "assignment", "list", "--project", "dev", "-f", "json"), &assignments)
	if len(assignments) != 2 {
		t.Fatalf("role assignments on dev: %v", assignments)
	}

	alice := cli(t, srv, dir, "alice", "alice-pw", "dev")
	pubPath := filepath.Join(dir, "alice.pub")
	pub, _ := sshKeygen(t, "-t", "ed25519")
	if err := os.WriteFile(pubPath, []byte(pub), 0o600); err != nil {
		t.Fatal(err)
	}
	alice("keypair", "create", "--public-key", pubPath, "alice-key")

	rita := cliTry(t, srv, dir, "rita", "rita-pw", "dev")
	if out, err := rita("keypair", "list", "-f", "json"); err != nil || strings.TrimSpace(out) != "[]" {
		t.Fatalf("reader list: %v %s", err, out)
	}
	if out, err := rita("keypair", "create", "--public-key", pubPath, "rita-key"); err == nil || !strings.Contains(out, "403") {
		t.Fatalf("a reader created a key pair: %v %s", err, out)
	}

	admin("user", "set", "--disable", "alice")
	if out, err := cliTry(t, srv, dir, "alice", "alice-pw", "dev")("token", "issue"); err == nil || !strings.Contains(out, "401") {
		t.Fatalf("a disabled user logged in: %v %s", err, out)
	}
	var users []map[string]any
	decodeJSON(t, admin("user", "list", "-f", "json"), &users)
	if len(users) != 3 {
		t.Fatalf("users: %v", users)
	}

	// Taking access away with the CLI: each refuses the user's next login.
	admin("user", "create", "--password", "bob-pw", "--domain", "Default", "bob")
	admin("role", "add", "--user", "bob", "--project", "dev", "member")
	bob := cliTry(t, srv, dir, "bob", "bob-pw", "dev")
	for _, step := range [][]string{
		{"role", "remove", "--user", "bob", "--project", "dev", "member"},
		{"role", "add", "--user", "bob", "--project", "dev", "member"},
		{"project", "set", "--disable", "dev"},
		{"project", "set", "--enable", "dev"},
		{"user", "delete", "bob"},
	} {
		out, err := bob("keypair", "list")
		ok := err == nil
		admin(step...)
		if step[1] == "add" || step[2] == "--enable" {
			continue
		}
		if !ok {
			t.Fatalf("bob could not list before %v: %s", step, out)
		}
		if out, err := bob("keypair", "list"); err == nil || !strings.Contains(out, "401") {
			t.Fatalf("after %v bob still lists: %v %s", step, err, out)
		}
	}
}

// requireCLI fails the test when the openstack CLI is missing and skips it
// in -short runs, which it would slow down.
func requireCLI(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts the openstack CLI many times")
	}
	if _, err := exec.LookPath("openstack"); err != nil {
		t.Fatal("the openstack CLI is required (Debian package python3-openstackclient; scripts/install-test-deps.sh installs it)")
	}
}
