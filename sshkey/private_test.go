package sshkey

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

func TestMatchPrivateKeyAndAlgorithm(t *testing.T) {
	if _, err := exec.LookPath("ssh-keygen"); err != nil {
		t.Fatal("ssh-keygen is required")
	}
	dir := t.TempDir()
	keys := map[string]string{}
	for _, c := range []struct {
		args []string
		algo string
	}{
		{[]string{"-t", "rsa", "-b", "2048"}, "rsa-2048"},
		{[]string{"-t", "rsa", "-b", "3072", "-m", "PEM"}, "rsa-3072"},
		{[]string{"-t", "ecdsa", "-b", "384", "-m", "PKCS8"}, "ecdsa-384"},
		{[]string{"-t", "ed25519"}, "ed25519"},
	} {
		path := filepath.Join(dir, c.algo)
		if out, err := exec.Command("ssh-keygen", append(c.args, "-q", "-N", "", "-f", path)...).CombinedOutput(); err != nil {
			t.Fatalf("ssh-keygen: %v %s", err, out)
		}
		priv, _ := os.ReadFile(path)
		pubLine, _ := os.ReadFile(path + ".pub")
		pub, err := ParseAuthorizedKey(string(pubLine))
		if err != nil {
			t.Fatal(err)
		}
		if got := Algorithm(pub); got != c.algo {
			t.Errorf("Algorithm = %q, want %q", got, c.algo)
		}
		if err := MatchPrivateKey(string(priv), pub); err != nil {
			t.Errorf("%s: own private key: %v", c.algo, err)
		}
		keys[c.algo] = string(priv)
	}
	ed, _ := os.ReadFile(filepath.Join(dir, "ed25519.pub"))
	edPub, _ := ParseAuthorizedKey(string(ed))
	if err := MatchPrivateKey(keys["rsa-2048"], edPub); !errors.Is(err, ErrPrivateKeyMismatch) {
		t.Errorf("another key's private half: %v", err)
	}
	for _, bad := range []string{"", "hello", "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n"} {
		if err := MatchPrivateKey(bad, edPub); err == nil || errors.Is(err, ErrPrivateKeyMismatch) {
			t.Errorf("%q: %v", bad, err)
		}
	}
	enc := filepath.Join(dir, "enc")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "passphrase", "-f", enc).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	encPriv, _ := os.ReadFile(enc)
	if err := MatchPrivateKey(string(encPriv), edPub); err == nil || err.Error() != "sshkey: the private key is encrypted with a passphrase" {
		t.Errorf("encrypted key: %v", err)
	}
	g, err := GenerateRSA(2048, NovaComment)
	if err != nil {
		t.Fatal(err)
	}
	gp, _ := ParseAuthorizedKey(g.PublicKey)
	if err := MatchPrivateKey(g.PrivateKey, gp); err != nil || Algorithm(gp) != "rsa-2048" {
		t.Errorf("generated: %v %q", err, Algorithm(gp))
	}
}
