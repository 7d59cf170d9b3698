package main

import (
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// sshKeyPair makes a key with the real ssh-keygen and returns its public
// line and private key (OpenSSH format).
func sshKeyPair(t *testing.T, typ string) (pub, priv string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "key")
	if out, err := exec.Command("ssh-keygen", "-t", typ, "-q", "-N", "", "-C", "test@keyhaven", "-f", path).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	p, _ := os.ReadFile(path + ".pub")
	k, _ := os.ReadFile(path)
	return strings.TrimSpace(string(p)), string(k)
}

// sshKeygenSHA256 is ssh-keygen's SHA-256 fingerprint of a public key line.
func sshKeygenSHA256(t *testing.T, pub string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "k.pub")
	if err := os.WriteFile(path, []byte(pub+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("ssh-keygen", "-l", "-E", "sha256", "-f", path).CombinedOutput()
	if err != nil {
		t.Fatalf("ssh-keygen -l: %v\n%s", err, out)
	}
	return strings.Fields(string(out))[1]
}

// wantDerives checks with the real ssh-keygen -y that private is the
// private half of the public key line pub.
func wantDerives(t *testing.T, private, pub string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "k")
	if err := os.WriteFile(path, []byte(private), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("ssh-keygen", "-y", "-f", path).CombinedOutput()
	if err != nil {
		t.Fatalf("ssh-keygen -y: %v\n%s", err, out)
	}
	if got, want := strings.Fields(string(out)), strings.Fields(pub); len(got) < 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("ssh-keygen -y derives %q, want %q", out, pub)
	}
}

// nativeUser starts keyhaven with the built-in identity and returns it,
// an admin client and a member's (alice's) client and identity.
func nativeUsers(t *testing.T, flags ...string) (*testServer, *nativeClient, *nativeClient, cloudUser) {
	t.Helper()
	srv := startIdentityServer(t, append([]string{"--expiry-interval", "200ms", "--keygen-concurrency", "2", "--keygen-wait", "30s"}, flags...)...)
	adminTok, _, _ := adminToken(t, srv)
	alice := newCloudUser(t, srv, adminTok, "alice", "team", "member")
	return srv, &nativeClient{t: t, srv: srv, token: adminTok}, &nativeClient{t: t, srv: srv, token: alice.Token}, alice
}

// TestNativeOperations runs every operation of keyhaven's own API through
// a real keyhaven, each request and answer checked against openapi.json.
func TestNativeOperations(t *testing.T) {
	srv, admin, c, alice := nativeUsers(t)
	anon := &nativeClient{t: t, srv: srv}
	anon.want(200, "GET", "/keyhaven/v1/openapi.json", "", nil)
	if p := anon.do("GET", "/keyhaven/v1/keypairs", "", false).Problem(t); p.Code != "unauthenticated" {
		t.Fatalf("without a token: %+v", p)
	}

	// Generate: the default is ed25519 in OpenSSH format, loadable by
	// ssh-keygen, with both fingerprints as ssh-keygen prints them.
	var gen nativeKeyPair
	a := c.want(201, "POST", "/keyhaven/v1/keypairs", `{"name": "gen", "description": "d", "tags": {"env": "prod", "team": "a"}}`, &gen)
	if a.Header.Get("Location") != "/keyhaven/v1/keypairs/gen" || gen.Type != "ed25519" || gen.PrivateKey == "" || gen.Escrow != nil ||
		gen.Tags["env"] != "prod" || gen.Description != "d" || gen.UserID != alice.ID || gen.ExpiresAt != nil {
		t.Fatalf("generated: %+v (Location %q)", gen, a.Header.Get("Location"))
	}
	wantDerives(t, gen.PrivateKey, gen.PublicKey)
	if want := sshKeygenSHA256(t, gen.PublicKey); gen.FingerprintSHA256 != want {
		t.Fatalf("fingerprint_sha256 %s, ssh-keygen says %s", gen.FingerprintSHA256, want)
	}
	if want := fingerprintOf(t, writePub(t, gen.PublicKey)); gen.FingerprintMD5 != want {
		t.Fatalf("fingerprint_md5 %s, ssh-keygen says %s", gen.FingerprintMD5, want)
	}
	for _, tf := range [][2]string{{"rsa-2048", "openssh"}, {"rsa-2048", "pkcs1"}, {"rsa-3072", "pkcs8"}, {"ecdsa-p256", "openssh"},
		{"ecdsa-p384", "pkcs8"}, {"ecdsa-p521", "sec1"}, {"ed25519", "pkcs8"}, {"ed25519", "ppk"}} {
		var kp nativeKeyPair
		c.want(201, "POST", "/keyhaven/v1/keypairs", `{"name": "t-`+tf[0]+`-`+tf[1]+`", "type": "`+tf[0]+`", "private_key_format": "`+tf[1]+`"}`, &kp)
		if kp.Type != tf[0] {
			t.Fatalf("%v generated type %s", tf, kp.Type)
		}
		switch tf[1] {
		case "ppk":
			wantPuttygenReads(t, kp.PrivateKey, kp.PublicKey)
		case "pkcs8":
			if tf[0] == "ed25519" {
				break // OpenSSH 9.2 reads no PKCS#8 Ed25519 key
			}
			fallthrough
		default:
			wantDerives(t, kp.PrivateKey, kp.PublicKey)
		}
	}

	// Import a public key; import one with its private key into escrow.
	pub, priv := sshKeyPair(t, "ed25519")
	var imp nativeKeyPair
	c.want(201, "POST", "/keyhaven/v1/keypairs", `{"name": "imp", "public_key": "`+pub+`"}`, &imp)
	if imp.PublicKey != pub || imp.PrivateKey != "" || imp.Type != "ed25519" {
		t.Fatalf("imported: %+v", imp)
	}
	pub2, priv2 := sshKeyPair(t, "ecdsa")
	var esc nativeKeyPair
	c.want(201, "POST", "/keyhaven/v1/keypairs", `{"name": "esc", "public_key": "`+pub2+`", "private_key": `+jsonString(priv2)+`, "escrow": {}}`, &esc)
	if esc.Escrow == nil || esc.Escrow.KMSKey == "" || esc.PrivateKey != "" {
		t.Fatalf("escrowed import: %+v", esc)
	}
	var exp struct {
		PrivateKey string `json:"private_key"`
	}
	c.want(200, "GET", "/keyhaven/v1/keypairs/esc/private-key", "", &exp)
	wantDerives(t, exp.PrivateKey, pub2)
	_ = priv

	// Show, with the expiry warning.
	var soon nativeKeyPair
	c.want(201, "POST", "/keyhaven/v1/keypairs", `{"name": "soon", "ttl": 259200}`, &soon)
	c.want(200, "GET", "/keyhaven/v1/keypairs/soon", "", &soon)
	if len(soon.Warnings) != 1 || !strings.HasPrefix(soon.Warnings[0], "expires in 2 days") || soon.ExpiresAt == nil {
		t.Fatalf("warnings of a key pair expiring in 3 days: %+v", soon)
	}
	var far nativeKeyPair
	c.want(201, "POST", "/keyhaven/v1/keypairs", `{"name": "far", "expires_at": "`+time.Now().Add(30*24*time.Hour).UTC().Format(time.RFC3339)+`"}`, &far)
	if len(far.Warnings) != 0 || far.ExpiresAt == nil {
		t.Fatalf("a key pair expiring in 30 days: %+v", far)
	}

	// Lists: pages by cursor, and every filter.
	var all []string
	cursor := ""
	for i := 0; ; i++ {
		var l nativeList
		q := "?limit=3"
		if cursor != "" {
			q += "&cursor=" + url.QueryEscape(cursor)
		}
		c.want(200, "GET", "/keyhaven/v1/keypairs"+q, "", &l)
		all = append(all, l.names()...)
		if l.NextCursor == nil {
			break
		}
		cursor = *l.NextCursor
		if i > 10 {
			t.Fatal("paging does not end")
		}
	}
	if len(all) != 13 || !slices.IsSorted(all) {
		t.Fatalf("paged names: %v", all)
	}
	for q, want := range map[string]string{
		"tag=env%3Dprod":      "[gen]",
		"tag-key=team":        "[gen]",
		"tag=env%3Ddev":       "[]",
		"type=ecdsa-p256":     "[esc t-ecdsa-p256-openssh]",
		"type=rsa-2048":       "[t-rsa-2048-openssh t-rsa-2048-pkcs1]",
		"name-prefix=t-ecdsa": "[t-ecdsa-p256-openssh t-ecdsa-p384-pkcs8 t-ecdsa-p521-sec1]",
		"fingerprint=" + url.QueryEscape(gen.FingerprintSHA256): "[gen]",
		"fingerprint=" + imp.FingerprintMD5:                     "[imp]",
		"fingerprint=MD5:" + imp.FingerprintMD5:                 "[imp]",
	} {
		var l nativeList
		c.want(200, "GET", "/keyhaven/v1/keypairs?"+q, "", &l)
		if got := "[" + strings.Join(l.names(), " ") + "]"; got != want {
			t.Errorf("list ?%s = %s, want %s", q, got, want)
		}
	}

	// Administrators list every owner's key pairs; members may not.
	var everyone nativeList
	admin.want(200, "GET", "/keyhaven/v1/keypairs?all_users=true&name-prefix=gen", "", &everyone)
	if len(everyone.KeyPairs) != 1 || everyone.KeyPairs[0].UserID != alice.ID {
		t.Fatalf("admin's list of every owner: %+v", everyone)
	}
	if p := c.do("GET", "/keyhaven/v1/keypairs?all_users=true", "", false).Problem(t); p.Status != 403 {
		t.Fatalf("member lists every owner: %+v", p)
	}

	// Update description, tags and expiry.
	var up nativeKeyPair
	c.want(200, "PATCH", "/keyhaven/v1/keypairs/soon", `{"description": "new", "tags": {"k": "v"}, "expires_at": null}`, &up)
	if up.Description != "new" || up.Tags["k"] != "v" || len(up.Tags) != 1 || up.ExpiresAt != nil || len(up.Warnings) != 0 {
		t.Fatalf("updated: %+v", up)
	}

	// Rotate: same name and id, new material, the old kept as previous.
	var rot nativeKeyPair
	c.want(200, "POST", "/keyhaven/v1/keypairs/gen:rotate", `{"type": "ecdsa-p256"}`, &rot)
	if rot.ID != gen.ID || rot.Type != "ecdsa-p256" || rot.PublicKey == gen.PublicKey || rot.PrivateKey == "" || rot.Previous == nil ||
		rot.Previous.PublicKey != gen.PublicKey || rot.Previous.FingerprintSHA256 != gen.FingerprintSHA256 || rot.Tags["env"] != "prod" {
		t.Fatalf("rotated: %+v", rot)
	}
	wantDerives(t, rot.PrivateKey, rot.PublicKey)
	var shown nativeKeyPair
	c.want(200, "GET", "/keyhaven/v1/keypairs/gen", "", &shown)
	if shown.PublicKey != rot.PublicKey || shown.Previous == nil || shown.PrivateKey != "" {
		t.Fatalf("shown after rotation: %+v", shown)
	}
	var rot2 nativeKeyPair
	c.want(200, "POST", "/keyhaven/v1/keypairs/imp:rotate", `{"public_key": "`+pub2+`"}`, &rot2)
	if rot2.PublicKey != pub2 || rot2.PrivateKey != "" || rot2.Previous == nil || rot2.Previous.PublicKey != pub {
		t.Fatalf("rotated to an imported key: %+v", rot2)
	}

	// Clear the escrowed private key; export then finds none.
	c.want(204, "DELETE", "/keyhaven/v1/keypairs/esc/private-key", "", nil)
	if p := c.do("GET", "/keyhaven/v1/keypairs/esc/private-key", "", false).Problem(t); p.Status != 404 {
		t.Fatalf("export after clear: %+v", p)
	}

	// AK/SK signatures authenticate as on KPS.
	req := srv.signedRequest(t, alice.AK, alice.SK, "GET", "/keyhaven/v1/keypairs/gen", "", nil)
	if a := c.send(req, nil, false); a.Status != 200 {
		t.Fatalf("AK/SK-signed show: %d %s", a.Status, a.Body)
	}

	// The audit log, for administrators only, with filters.
	if p := c.do("GET", "/keyhaven/v1/audit", "", false).Problem(t); p.Status != 403 {
		t.Fatalf("member reads the audit log: %+v", p)
	}
	var log struct {
		Entries []struct {
			Action, UserID, KeyPairName string
		} `json:"entries"`
		NextAfter *int64 `json:"next_after"`
	}
	admin.want(200, "GET", "/keyhaven/v1/audit?user_id="+alice.ID+"&keypair=gen&action=rotate", "", &log)
	if len(log.Entries) != 1 {
		t.Fatalf("audit of gen's rotation: %+v", log)
	}
	admin.want(200, "GET", "/keyhaven/v1/audit?limit=2&since="+url.QueryEscape(time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)), "", &log)
	if len(log.Entries) != 2 || log.NextAfter == nil {
		t.Fatalf("audit page: %+v", log)
	}

	// Delete; an administrator deletes another user's.
	c.want(204, "DELETE", "/keyhaven/v1/keypairs/imp", "", nil)
	admin.want(204, "DELETE", "/keyhaven/v1/keypairs/far?user_id="+alice.ID, "", nil)
	if p := c.do("DELETE", "/keyhaven/v1/keypairs/soon?user_id=someone-else", "", false).Problem(t); p.Status != 403 {
		t.Fatalf("member deletes for another user: %+v", p)
	}
	if p := c.do("GET", "/keyhaven/v1/keypairs/imp", "", false).Problem(t); p.Code != "not_found" {
		t.Fatalf("show after delete: %+v", p)
	}
}

// writePub writes a public key line to a file and returns its path.
func writePub(t *testing.T, pub string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "k.pub")
	if err := os.WriteFile(path, []byte(pub+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// wantPuttygenReads checks with the real puttygen (Debian putty-tools)
// that a PPK file holds the private half of pub.
func wantPuttygenReads(t *testing.T, ppk, pub string) {
	t.Helper()
	if _, err := exec.LookPath("puttygen"); err != nil {
		t.Fatal("puttygen is required (Debian package putty-tools)")
	}
	path := filepath.Join(t.TempDir(), "k.ppk")
	if err := os.WriteFile(path, []byte(ppk), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("puttygen", path, "-O", "public-openssh", "-o", "/dev/stdout").CombinedOutput()
	if err != nil {
		t.Fatalf("puttygen: %v\n%s", err, out)
	}
	if got, want := strings.Fields(string(out)), strings.Fields(pub); len(got) < 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("puttygen derives %q, want %q", out, pub)
	}
}
