package main

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
)

// TestNativeConcurrentRotation rotates one key pair 20 times at once: every
// rotation succeeds and replaces what the one before it left, so the
// answers form one chain ending in the one final key, and the audit chain
// holds with an entry for each. An escrowed key pair keeps escrow through
// a rotation.
func TestNativeConcurrentRotation(t *testing.T) {
	srv, admin, c, _ := nativeUsers(t, "--keygen-concurrency", "4")
	var first nativeKeyPair
	c.want(201, "POST", "/keyhaven/v1/keypairs", `{"name": "spun", "tags": {"a": "b"}}`, &first)
	const n = 20
	answers := make([]nativeKeyPair, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			cc := *c
			cc.t = t
			a := cc.do("POST", "/keyhaven/v1/keypairs/spun:rotate", `{}`, false)
			if a.Status != 200 {
				t.Errorf("rotation %d: %d %s", i, a.Status, a.Body)
				return
			}
			a.JSON(t, &answers[i])
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	replaced := map[string]bool{}
	made := map[string]bool{}
	for _, a := range answers {
		if a.ID != first.ID || a.Name != "spun" || a.Previous == nil || a.PrivateKey == "" || a.Tags["a"] != "b" {
			t.Fatalf("rotation answer: %+v", a)
		}
		if replaced[a.Previous.PublicKey] {
			t.Fatalf("two rotations replaced the same key %s", a.Previous.PublicKey)
		}
		replaced[a.Previous.PublicKey] = true
		made[a.PublicKey] = true
	}
	if !replaced[first.PublicKey] || len(made) != n {
		t.Fatalf("the first key was not replaced, or rotations made the same key")
	}
	var final nativeKeyPair
	c.want(200, "GET", "/keyhaven/v1/keypairs/spun", "", &final)
	if !made[final.PublicKey] || replaced[final.PublicKey] {
		t.Fatalf("the final key %s is not the one rotation left standing", final.PublicKey)
	}
	for k := range made {
		if k != final.PublicKey && !replaced[k] {
			t.Fatalf("key %s was made, never replaced, yet is not the final one", k)
		}
	}
	var log struct {
		Entries []struct{ Action string } `json:"entries"`
	}
	admin.want(200, "GET", "/keyhaven/v1/audit?action=rotate&keypair=spun", "", &log)
	if len(log.Entries) != n {
		t.Fatalf("%d rotate entries in the audit log, want %d", len(log.Entries), n)
	}

	// Rotating an escrowed key pair keeps the new private key in escrow.
	var esc nativeKeyPair
	c.want(201, "POST", "/keyhaven/v1/keypairs", `{"name": "kept", "escrow": {"kms_key": "kps/default"}}`, &esc)
	if esc.Escrow == nil || esc.PrivateKey != "" {
		t.Fatalf("escrowed create: %+v", esc)
	}
	var rot nativeKeyPair
	c.want(200, "POST", "/keyhaven/v1/keypairs/kept:rotate", `{"type": "rsa-2048"}`, &rot)
	if rot.Escrow == nil || rot.Escrow.KMSKey != esc.Escrow.KMSKey || rot.PrivateKey != "" || rot.Previous.PublicKey != esc.PublicKey {
		t.Fatalf("rotation of an escrowed key pair: %+v (escrow %+v)", rot, rot.Escrow)
	}
	var exp struct {
		PrivateKey string `json:"private_key"`
	}
	c.want(200, "GET", "/keyhaven/v1/keypairs/kept/private-key", "", &exp)
	wantDerives(t, exp.PrivateKey, rot.PublicKey)
	// The rotation of a key pair without escrow can move it into escrow.
	var into nativeKeyPair
	c.want(200, "POST", "/keyhaven/v1/keypairs/spun:rotate", `{"escrow": {}}`, &into)
	if into.Escrow == nil || into.PrivateKey != "" {
		t.Fatalf("rotation into escrow: %+v", into)
	}

	var out bytes.Buffer
	env := func(string) string { return "" }
	if err := run(context.Background(), []string{"audit", "--data-dir", srv.cfg.DataDir, "verify"}, env, &out, &out); err != nil {
		t.Fatalf("audit verify: %v\n%s", err, out.String())
	}
	out.Reset()
	if err := run(context.Background(), []string{"audit", "--data-dir", srv.cfg.DataDir, "list"}, env, &out, &out); err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(out.String(), "rotate"); got != n+2 {
		t.Fatalf("audit list has %d rotations, want %d:\n%s", got, n+2, out.String())
	}
}
