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
	if testing.Short() {
		t.Skip("starts the openstack CLI many times")
	}
	if _, err := exec.LookPath("openstack"); err != nil {
		t.Fatal("the openstack CLI is required (Debian package python3-openstackclient; scripts/install-test-deps.sh installs it)")
	}
	srv := startIdentityServer(t)
	dir := t.TempDir()
	clouds := `clouds:
  keyhaven:
    auth:
      auth_url: ` + srv.URL + `/identity
      username: admin
      password: ` + bootstrapPassword + `
      project_name: admin
      user_domain_name: Default
      project_domain_name: Default
    identity_api_version: 3
    region_name: RegionOne
`
	cloudsPath := filepath.Join(dir, "clouds.yaml")
	if err := os.WriteFile(cloudsPath, []byte(clouds), 0o600); err != nil {
		t.Fatal(err)
	}
	osc := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("openstack", args...)
		cmd.Env = append(os.Environ(), "OS_CLIENT_CONFIG_FILE="+cloudsPath, "OS_CLOUD=keyhaven", "HOME="+dir)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("openstack %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	decode := func(out string, v any) {
		t.Helper()
		if err := json.Unmarshal([]byte(out), v); err != nil {
			t.Fatalf("%v in %q", err, out)
		}
	}

	var tok map[string]string
	decode(osc("token", "issue", "-f", "json"), &tok)
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
	decode(osc("keypair", "create", "--public-key", pubPath, "imported", "-f", "json"), &imported)
	if imported["fingerprint"] != fp {
		t.Fatalf("import: %v, want fingerprint %s", imported, fp)
	}

	var list []map[string]any
	decode(osc("keypair", "list", "-f", "json"), &list)
	if len(list) != 2 || list[0]["Name"] != "generated" || list[1]["Name"] != "imported" {
		t.Fatalf("keypair list: %v", list)
	}
	var shown map[string]any
	decode(osc("keypair", "show", "imported", "-f", "json"), &shown)
	if shown["fingerprint"] != fp || shown["user_id"] != tok["user_id"] {
		t.Fatalf("keypair show: %v", shown)
	}
	osc("keypair", "delete", "generated", "imported")
	decode(osc("keypair", "list", "-f", "json"), &list)
	if len(list) != 0 {
		t.Fatalf("after delete: %v", list)
	}

	var cred map[string]any
	decode(osc("ec2", "credentials", "create", "-f", "json"), &cred)
	access, _ := cred["access"].(string)
	if access == "" || cred["secret"] == "" || cred["project_id"] != tok["project_id"] {
		t.Fatalf("ec2 credentials create: %v", cred)
	}
	var creds []map[string]any
	decode(osc("ec2", "credentials", "list", "-f", "json"), &creds)
	if len(creds) != 1 || creds[0]["Access"] != access {
		t.Fatalf("ec2 credentials list: %v", creds)
	}
	osc("ec2", "credentials", "delete", access)
	decode(osc("ec2", "credentials", "list", "-f", "json"), &creds)
	if len(creds) != 0 {
		t.Fatalf("after ec2 credentials delete: %v", creds)
	}
}
