package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// consoleKeyPair is what the tests read of a key pair from the API.
type consoleKeyPair struct {
	Name, Type, PublicKey, FingerprintSHA256, FingerprintMD5 string
	Tags                                                     map[string]string
	Escrow                                                   *struct{ KMSKey string }
}

// apiKeyPair reads one key pair through keyhaven's own API with token;
// the status is 0 when it answered 200.
func apiKeyPair(t *testing.T, srv *testServer, token, name string) (consoleKeyPair, int) {
	t.Helper()
	resp, raw := srv.do(t, "GET", "/keyhaven/v1/keypairs/"+name, map[string]string{"X-Auth-Token": token}, "")
	if resp.StatusCode != 200 {
		return consoleKeyPair{}, resp.StatusCode
	}
	var v struct {
		Name              string            `json:"name"`
		Type              string            `json:"type"`
		PublicKey         string            `json:"public_key"`
		FingerprintSHA256 string            `json:"fingerprint_sha256"`
		FingerprintMD5    string            `json:"fingerprint_md5"`
		Tags              map[string]string `json:"tags"`
		Escrow            *struct {
			KMSKey string `json:"kms_key"`
		} `json:"escrow"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	kp := consoleKeyPair{Name: v.Name, Type: v.Type, PublicKey: v.PublicKey, FingerprintSHA256: v.FingerprintSHA256,
		FingerprintMD5: v.FingerprintMD5, Tags: v.Tags}
	if v.Escrow != nil {
		kp.Escrow = &struct{ KMSKey string }{v.Escrow.KMSKey}
	}
	return kp, 0
}

// TestConsoleInChromium drives the console in a real headless Chromium
// against a real keyhaven: a member signs in (after a wrong password),
// generates a key and downloads its private key once, imports a .pub file,
// searches, tags, rotates, keeps a key in escrow, exports and clears it,
// deletes, cannot see the admin view, and signs out, after which the token
// is refused; an administrator signs in with a token and sees every user's
// key pairs and the audit log.
func TestConsoleInChromium(t *testing.T) {
	b := startBrowser(t)
	srv := startIdentityServer(t)
	adminTok, _, _ := adminToken(t, srv)
	alice := newCloudUser(t, srv, adminTok, "alice", "team", "member")

	c := b.tab(t, srv.URL+"/console/")
	c.do(chromedp.WaitVisible(chromedp.CSS("#si-user")))
	if got := c.evalString(`document.getElementById('si-domain').value`); got != "Default" {
		t.Fatalf("domain field: %q", got)
	}
	c.shot("signin")
	// Every control has a label a screen reader reads.
	if got := c.evalString(`[...document.querySelectorAll('input, select, textarea')].filter((e) => e.labels.length === 0 && !e.getAttribute('aria-label') && !e.getAttribute('aria-labelledby')).map((e) => e.id).join(' ')`); got != "" {
		t.Fatalf("controls without a label: %s", got)
	}

	// A wrong password: the console shows the identity service's message.
	_, raw := srv.do(t, "POST", "/identity/v3/auth/tokens", map[string]string{"Content-Type": "application/json"},
		`{"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "alice", "domain": {"name": "Default"}, "password": "wrong"}}},
		"scope": {"project": {"name": "team", "domain": {"name": "Default"}}}}}`)
	var ke struct {
		Error struct{ Message string } `json:"error"`
	}
	if err := json.Unmarshal(raw, &ke); err != nil || ke.Error.Message == "" {
		t.Fatalf("identity's answer to a wrong password: %s", raw)
	}
	c.setField("si-user", "alice")
	c.setField("si-password", "wrong")
	c.setField("si-project", "team")
	c.click("#si-submit")
	c.waitFor("the sign-in error", `!document.getElementById('error').hidden`)
	if got := c.evalString(`document.getElementById('error').textContent`); got != ke.Error.Message {
		t.Fatalf("wrong password shows %q, want the API's %q", got, ke.Error.Message)
	}
	c.shot("signin-wrong-password")

	// The right one, typed and sent with Enter, as a keyboard user does.
	c.setField("si-password", "")
	c.do(chromedp.SendKeys(chromedp.CSS("#si-password"), "pw-alice"+kb.Enter))
	c.waitFor("the key pairs page", `!document.getElementById('view-keypairs').hidden`)
	c.idle()
	if !c.eval(`document.getElementById('nav-admin').hidden && document.cookie === ''`) {
		t.Fatal("a member is offered the admin view, or the console set a cookie")
	}
	if !strings.Contains(c.evalString(`document.getElementById('kp-rows').textContent`), "No key pairs") {
		t.Fatal("a new user's key pairs are not empty")
	}

	// Generate an Ed25519 key: the private key is offered once, as laptop.pem.
	c.click("#kp-create")
	c.waitFor("the create dialog", `document.getElementById('create-dialog').open`)
	c.setField("create-name", "laptop")
	c.setField("create-description", "my laptop")
	c.shot("create")
	c.click("#create-submit")
	c.waitFor("the private key offer", `document.getElementById('secret-dialog').open`)
	if notice := c.evalString(`document.getElementById('secret-notice').textContent`); !strings.Contains(notice, "only time") {
		t.Fatalf("the private key offer says %q", notice)
	}
	c.shot("private-key-once")
	c.click("#secret-download")
	pem := b.download(t, "laptop.pem")
	if !c.eval(`watch.progress.includes('Generating laptop…')`) {
		t.Fatalf("no progress shown while generating: %s", c.evalString(`JSON.stringify(watch.progress)`))
	}
	c.click("#secret-done")
	c.waitFor("the offer to close", `!document.getElementById('secret-dialog').open`)
	c.idle()
	if c.eval(`document.documentElement.outerHTML.includes('PRIVATE KEY') || document.getElementById('secret-download').textContent === ''`) {
		t.Fatal("the private key is still in the page after its offer closed")
	}
	if got := b.downloaded(t); !slices.Equal(got, []string{"laptop.pem"}) {
		t.Fatalf("downloads: %v", got)
	}
	laptop, _ := apiKeyPair(t, srv, alice.Token, "laptop")
	wantDerives(t, pem, laptop.PublicKey)
	if laptop.Type != "ed25519" || c.cell("laptop", "fp-sha256") != laptop.FingerprintSHA256 || c.cell("laptop", "fp-md5") != laptop.FingerprintMD5 {
		t.Fatalf("laptop: API %+v, table %q %q", laptop, c.cell("laptop", "fp-sha256"), c.cell("laptop", "fp-md5"))
	}

	// Import a .pub file chosen in the file input.
	pub, _ := sshKeyPair(t, "ed25519")
	c.click("#kp-create")
	c.waitFor("the create dialog", `document.getElementById('create-dialog').open`)
	c.click("#create-mode-import")
	c.setField("create-name", "imported")
	c.do(chromedp.SetUploadFiles(chromedp.CSS("#create-file"), []string{writePub(t, pub)}))
	c.waitFor("the file's key in the text box", `document.getElementById('create-public').value === `+jsString(pub))
	c.shot("import")
	c.click("#create-submit")
	c.waitFor("the imported key pair", `!!document.querySelector('#kp-rows tr[data-name="imported"]')`)
	c.idle()
	if c.eval(`document.getElementById('secret-dialog').open`) {
		t.Fatal("an import offered a private key")
	}
	if got, want := c.cell("imported", "fp-sha256"), sshKeygenSHA256(t, pub); got != want {
		t.Fatalf("imported fingerprint %q, ssh-keygen says %q", got, want)
	}

	// Escrow: a generated key kept under a KMS key chosen by name.
	c.click("#kp-create")
	c.waitFor("the create dialog", `document.getElementById('create-dialog').open`)
	c.setField("create-name", "vault")
	c.click("#create-escrow")
	c.setField("create-kms", "kps/default")
	c.click("#create-submit")
	c.waitFor("the escrowed key pair", `!!document.querySelector('#kp-rows tr[data-name="vault"]')`)
	c.idle()
	if c.eval(`document.getElementById('secret-dialog').open`) {
		t.Fatal("an escrowed key's private key was offered")
	}
	vault, _ := apiKeyPair(t, srv, alice.Token, "vault")
	if vault.Escrow == nil || c.cell("vault", "escrow-cell") != vault.Escrow.KMSKey || !strings.Contains(vault.Escrow.KMSKey, "kps/default") {
		t.Fatalf("vault: API %+v, table %q", vault.Escrow, c.cell("vault", "escrow-cell"))
	}
	if got := c.rows("kp-rows"); !slices.Equal(got, []string{"imported", "laptop", "vault"}) {
		t.Fatalf("rows: %v", got)
	}

	// Search by name prefix.
	c.setField("kp-prefix", "lap")
	c.click("#kp-apply")
	c.idle()
	if got := c.rows("kp-rows"); !slices.Equal(got, []string{"laptop"}) {
		t.Fatalf("name-prefix lap: %v", got)
	}
	c.shot("search")
	c.setField("kp-prefix", "")

	// Tag: edit the description and tags, then filter by a tag.
	c.click(`button[aria-label="Edit laptop"]`)
	c.waitFor("the edit dialog", `document.getElementById('edit-dialog').open`)
	if got := c.evalString(`document.getElementById('edit-description').value`); got != "my laptop" {
		t.Fatalf("edit dialog description %q", got)
	}
	c.setField("edit-tags", "env=prod\nteam=web")
	c.setField("edit-description", "work laptop")
	c.click("#edit-submit")
	c.waitFor("the tags", `document.querySelector('#kp-rows tr[data-name="laptop"] .tags-cell').textContent.includes('env=prod')`)
	c.idle()
	if laptop, _ = apiKeyPair(t, srv, alice.Token, "laptop"); laptop.Tags["env"] != "prod" || laptop.Tags["team"] != "web" {
		t.Fatalf("tags in the API: %v", laptop.Tags)
	}
	c.setField("kp-tag", "env=prod")
	c.click("#kp-apply")
	c.idle()
	if got := c.rows("kp-rows"); !slices.Equal(got, []string{"laptop"}) {
		t.Fatalf("tag env=prod: %v", got)
	}
	c.setField("kp-tag", "")
	c.click("#kp-apply")
	c.idle()
	c.shot("keypairs")

	// Rotate laptop to ECDSA P-256 in PuTTY's format: the new private key
	// is offered once, as laptop.ppk.
	c.click(`button[aria-label="Rotate laptop"]`)
	c.waitFor("the rotate dialog", `document.getElementById('rotate-dialog').open`)
	c.setField("rotate-type", "ecdsa-p256")
	c.setField("rotate-format", "ppk")
	c.shot("rotate")
	c.click("#rotate-submit")
	c.waitFor("the new private key's offer", `document.getElementById('secret-dialog').open`)
	c.click("#secret-download")
	ppk := b.download(t, "laptop.ppk")
	c.click("#secret-done")
	c.idle()
	rotated, _ := apiKeyPair(t, srv, alice.Token, "laptop")
	wantPuttygenReads(t, ppk, rotated.PublicKey)
	if rotated.Type != "ecdsa-p256" || rotated.FingerprintSHA256 == laptop.FingerprintSHA256 {
		t.Fatalf("after rotation: %+v", rotated)
	}
	c.waitFor("the rotated fingerprint", `document.querySelector('#kp-rows tr[data-name="laptop"] .fp-sha256').textContent === `+jsString(rotated.FingerprintSHA256))
	// Filter by type.
	c.setField("kp-type", "ecdsa-p256")
	c.click("#kp-apply")
	c.idle()
	if got := c.rows("kp-rows"); !slices.Equal(got, []string{"laptop"}) {
		t.Fatalf("type ecdsa-p256: %v", got)
	}
	c.setField("kp-type", "")
	c.click("#kp-apply")
	c.idle()

	// Export the escrowed key, after a confirmation that says it is audited.
	c.click(`button[aria-label="Export the private key of vault"]`)
	c.waitFor("the export confirmation", `document.getElementById('confirm-dialog').open`)
	if msg := c.evalString(`document.getElementById('confirm-message').textContent`); !strings.Contains(msg, "audited") {
		t.Fatalf("export confirmation says %q", msg)
	}
	c.shot("export-confirm")
	c.click("#confirm-ok")
	wantDerives(t, b.download(t, "vault.pem"), vault.PublicKey)
	c.idle()

	// Clear the escrowed copy; the key pair stays.
	c.click(`button[aria-label="Clear the escrowed private key of vault"]`)
	c.waitFor("the clear confirmation", `document.getElementById('confirm-dialog').open`)
	c.click("#confirm-ok")
	c.waitFor("escrow cleared", `document.querySelector('#kp-rows tr[data-name="vault"] .escrow-cell').textContent === 'no'`)
	c.idle()
	if vault, status := apiKeyPair(t, srv, alice.Token, "vault"); status != 0 || vault.Escrow != nil {
		t.Fatalf("vault after clear: %d %+v", status, vault)
	}

	// Delete, after a confirmation; cancelling first keeps the key pair.
	c.click(`button[aria-label="Delete imported"]`)
	c.waitFor("the delete confirmation", `document.getElementById('confirm-dialog').open`)
	// Escape cancels, as for every dialog (focus starts on Cancel).
	if !c.eval(`document.activeElement.id === 'confirm-cancel'`) {
		t.Fatalf("focus in the confirmation: %s", c.evalString(`document.activeElement.outerHTML`))
	}
	c.do(chromedp.KeyEvent(kb.Escape))
	c.waitFor("the confirmation to close", `!document.getElementById('confirm-dialog').open`)
	c.idle()
	if _, status := apiKeyPair(t, srv, alice.Token, "imported"); status != 0 {
		t.Fatalf("cancelled delete: %d", status)
	}
	c.click(`button[aria-label="Delete imported"]`)
	c.waitFor("the delete confirmation", `document.getElementById('confirm-dialog').open`)
	c.click("#confirm-ok")
	c.waitFor("the row to go", `!document.querySelector('#kp-rows tr[data-name="imported"]')`)
	c.idle()
	if _, status := apiKeyPair(t, srv, alice.Token, "imported"); status != 404 {
		t.Fatalf("deleted key pair: %d", status)
	}

	// A member cannot see the admin view, and the API refuses her.
	c.do(chromedp.Evaluate[chromedp.Void](`location.hash = '#/admin'`))
	c.waitFor("the refusal", `!document.getElementById('view-denied').hidden && document.getElementById('view-admin').hidden`)
	c.shot("admin-denied")
	if resp, _ := srv.do(t, "GET", "/keyhaven/v1/audit", map[string]string{"X-Auth-Token": alice.Token}, ""); resp.StatusCode != 403 {
		t.Fatalf("a member's audit request: %d", resp.StatusCode)
	}
	if resp, _ := srv.do(t, "GET", "/keyhaven/v1/keypairs?all_users=true", map[string]string{"X-Auth-Token": alice.Token}, ""); resp.StatusCode != 403 {
		t.Fatalf("a member's all_users request: %d", resp.StatusCode)
	}

	// Another escrowed key of alice's, for the administrator to export.
	if resp, raw := srv.do(t, "POST", "/keyhaven/v1/keypairs", map[string]string{"X-Auth-Token": alice.Token, "Content-Type": "application/json"},
		`{"name": "vault2", "escrow": {}}`); resp.StatusCode != 201 {
		t.Fatalf("vault2: %d %s", resp.StatusCode, raw)
	}
	vault2, _ := apiKeyPair(t, srv, alice.Token, "vault2")

	// An administrator, in another tab, signs in with a pasted token.
	a := b.tab(t, srv.URL+"/console/")
	a.do(chromedp.WaitVisible(chromedp.CSS("#st-token")))
	a.setField("st-token", adminTok)
	a.click("#st-submit")
	a.waitFor("the admin's key pairs page", `!document.getElementById('view-keypairs').hidden && !document.getElementById('nav-admin').hidden`)
	a.idle()
	a.click("#nav-admin")
	a.waitFor("the admin view", `!document.getElementById('view-admin').hidden`)
	a.idle()
	if got := a.rows("ad-rows"); !slices.Equal(got, []string{"laptop", "vault", "vault2"}) {
		t.Fatalf("every user's key pairs: %v", got)
	}
	if !strings.Contains(a.evalString(`document.getElementById('ad-rows').textContent`), alice.ID) {
		t.Fatal("the admin view does not show the owner")
	}
	// The administrator exports alice's escrowed key, after being told it
	// is audited.
	a.click(`button[aria-label="Export the private key of vault2 of ` + alice.ID + `"]`)
	a.waitFor("the export confirmation", `document.getElementById('confirm-dialog').open`)
	if msg := a.evalString(`document.getElementById('confirm-message').textContent`); !strings.Contains(msg, "audited") || !strings.Contains(msg, alice.ID) {
		t.Fatalf("admin export confirmation says %q", msg)
	}
	a.click("#confirm-ok")
	wantDerives(t, b.download(t, "vault2.pem"), vault2.PublicKey)
	a.idle()
	a.setField("au-action", "export-private-key")
	a.setField("au-keypair", "vault")
	a.click("#au-apply")
	a.idle()
	audit := a.evalString(`[...document.querySelectorAll('#au-rows tr')].map((r) => r.textContent).join('\n')`)
	if strings.Count(audit, "export-private-key") != 1 || !strings.Contains(audit, alice.ID) {
		t.Fatalf("audit log filtered to vault's exports: %q (%s; error %q)", audit, a.evalString(`location.href + document.getElementById('au-rows').outerHTML`), a.evalString(`document.getElementById('error').textContent`))
	}
	a.setField("au-action", "")
	a.setField("au-keypair", "")
	a.click("#au-apply")
	a.idle()
	a.shot("admin")

	// A token revoked elsewhere ends the console's session at its next
	// request, with the API's message.
	if resp, raw := srv.do(t, "DELETE", "/identity/v3/auth/tokens", map[string]string{"X-Auth-Token": adminTok, "X-Subject-Token": adminTok}, ""); resp.StatusCode != 204 {
		t.Fatalf("revoke: %d %s", resp.StatusCode, raw)
	}
	_, raw = srv.do(t, "GET", "/keyhaven/v1/audit", map[string]string{"X-Auth-Token": adminTok}, "")
	var p struct{ Detail string }
	if err := json.Unmarshal(raw, &p); err != nil || p.Detail == "" {
		t.Fatalf("a revoked token's answer: %s", raw)
	}
	a.click("#au-apply")
	a.waitFor("the sign-in page", `!document.getElementById('view-signin').hidden && sessionStorage.length === 0`)
	a.idle()
	if got := a.evalString(`document.getElementById('error').textContent`); got != p.Detail {
		t.Fatalf("after the token was revoked the console says %q, want the API's %q", got, p.Detail)
	}

	// Alice signs out: the token is revoked and forgotten.
	token := c.evalString(`JSON.parse(sessionStorage.getItem('keyhaven.session')).token`)
	if token != alice.Token && len(token) < 20 {
		t.Fatalf("session token %q", token)
	}
	c.do(chromedp.Evaluate[chromedp.Void](`location.hash = '#/keypairs'`))
	c.idle()
	c.click("#signout")
	c.waitFor("the sign-in page", `!document.getElementById('view-signin').hidden && document.getElementById('who').hidden`)
	c.idle()
	if !c.eval(`sessionStorage.length === 0`) {
		t.Fatal("the session outlived the sign-out")
	}
	if resp, _ := srv.do(t, "GET", "/keyhaven/v1/keypairs", map[string]string{"X-Auth-Token": token}, ""); resp.StatusCode != 401 {
		t.Fatalf("the signed-out token: %d", resp.StatusCode)
	}
	c.shot("signed-out")
	c.wantClean()
	a.wantClean()
}
