package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyhaven/keyhaven/internal/sshdtest"
)

// TestAssociateCredentialsNotKept logs in to a real sshd by password and
// by private key through keyhaven, with debug logging, and also sends
// credentials keyhaven must refuse (a wrong password, a broken private
// key, a key of the wrong JSON type): no credential is then in any file
// of the data directory (database, WAL), in keyhaven's log, or in any
// answer, as an attacker with the disk or the log would look.
func TestAssociateCredentialsNotKept(t *testing.T) {
	var logs syncBuffer
	srv := startServerLog(t, &logs, "", "--bootstrap-password", bootstrapPassword, "--log-level", "debug", "--log-format", "json", "--quota-key-pairs", "-1")
	adminTok, _, _ := adminToken(t, srv)
	alice := newCloudUser(t, srv, adminTok, "alice", "team", "member")
	c := kpsClient(t, srv, alice)
	s := sshdtest.Start(t, sshdtest.Options{})
	register(t, srv.cfg.DataDir, srv.cfg.Database, sshdInventory("web-1", alice.Project, s))

	k1 := newKeyPair(t, c, "k1")
	newKeyPair(t, c, "k2")
	waitAssociated(t, c, associate(t, c, "k1", "web-1", byPassword(s.Password), false))
	nextSigningSecond()
	waitAssociated(t, c, associate(t, c, "k2", "web-1", byKey(k1.Private), false))
	wrong := "wrong-" + randomText(t)
	waitFinished(t, c, associate(t, c, "k1", "web-1", byPassword(wrong), false))

	broken := "-----BEGIN OPENSSH PRIVATE KEY-----\n" + randomText(t) + randomText(t) + "\n-----END OPENSSH PRIVATE KEY-----\n"
	typed := randomText(t)
	h := map[string]string{"X-Auth-Token": alice.Token, "Content-Type": "application/json"}
	var answers []byte
	for _, body := range []string{
		`{"keypair_name": "k1", "server": {"id": "web-1", "auth": {"type": "keypair", "key": ` + jsonString(broken) + `}}}`,
		`{"keypair_name": "k1", "server": {"id": "web-1", "auth": {"type": "password", "key": ["` + typed + `"]}}}`,
		`{"keypair_name": "k1", "server": {"id": "web-1", "auth": {"type": "password", "key": "` + typed + `", "key": 1}}}`,
		`{"keypair_name": "k1", "server": {"id": "web-1", "auth": {"type": "passwd", "key": "` + typed + `"}}}`,
		`{"keypair_name": "k1", "server": {"id": "web-1", "auth": {"type": "password", "key": "` + typed + `"`, // cut short
	} {
		resp, raw := srv.do(t, "POST", "/v3/"+alice.Project+"/keypairs/associate", h, body)
		if resp.StatusCode != 400 {
			t.Errorf("associate %s: %d %s, want 400", body, resp.StatusCode, raw)
		}
		answers = append(answers, raw...)
	}
	answers = append(answers, []byte(failedSummary(t, c))...)

	secrets := append([]string{s.Password, wrong, typed}, pemLines(k1.Private)...)
	secrets = append(secrets, pemLines(broken)...)
	places := map[string][]byte{"keyhaven's log": []byte(logs.String()), "the answers": answers}
	entries, err := os.ReadDir(srv.cfg.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, en := range entries {
		if b, err := os.ReadFile(filepath.Join(srv.cfg.DataDir, en.Name())); err == nil {
			places[en.Name()] = b
		}
	}
	if len(places["keyhaven.db"])+len(places["keyhaven.db-wal"]) == 0 {
		t.Fatalf("no database among %v: the scan would prove nothing", entries)
	}
	for where, b := range places {
		for i, sec := range secrets {
			if bytes.Contains(b, []byte(sec)) {
				t.Errorf("credential %d found in %s", i, where)
			}
		}
	}
}

// randomText is 32 random hex characters, unlike anything else a test
// writes.
func randomText(t *testing.T) string {
	t.Helper()
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// pemLines are the base64 lines of a PEM block, each long enough to be
// found only where the key is.
func pemLines(p string) []string {
	var out []string
	for _, l := range strings.Split(p, "\n") {
		if l = strings.TrimSpace(l); len(l) > 20 && !strings.HasPrefix(l, "-----") {
			out = append(out, l)
		}
	}
	return out
}
