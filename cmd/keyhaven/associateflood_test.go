package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	kpsapi "github.com/keyhaven/keyhaven/api/kps"
)

// TestAssociateFloodBounded floods associate requests at a server that
// never answers SSH, so that the first task holds the server and the
// others wait with their credentials in memory: past
// --ssh-queue waiting tasks keyhaven answers 503 with its own code and a
// Retry-After, in KPS's error format, and makes no task.
func TestAssociateFloodBounded(t *testing.T) {
	e := newAssocEnv(t, "--ssh-queue", "2")
	kp := newKeyPair(t, e.c, "flood")
	host := "127.0.0.1"
	port, _ := heldPort(t) // released when the test ends
	otherKey, _ := sshKeygen(t, "-t", "ed25519")
	register(t, e.srv.cfg.DataDir, e.srv.cfg.Database, sshHost{ID: "stalls", Project: e.alice.Project, Host: host, Port: port, HostKey: strings.TrimSpace(otherKey)})

	first := associate(t, e.c, kp.Name, "stalls", byPassword("pw"), false)
	for deadline := time.Now().Add(pollLimit); taskStatus(t, e, first) != "RUNNING_BIND"; time.Sleep(pollEvery) {
		if time.Now().After(deadline) {
			t.Fatal("the first task never ran")
		}
	}
	for range 2 {
		nextSigningSecond() // the same signed request twice would be a replay
		associate(t, e.c, kp.Name, "stalls", byPassword("pw"), false)
	}

	body := `{"keypair_name": "flood", "server": {"id": "stalls", "auth": {"type": "password", "key": "pw"}}}`
	resp, raw := e.srv.do(t, "POST", "/v3/"+e.alice.Project+"/keypairs/associate",
		map[string]string{"X-Auth-Token": e.alice.Token, "Content-Type": "application/json"}, body)
	var r struct {
		Code string `json:"error_code"`
		Msg  string `json:"error_msg"`
	}
	full := kpsapi.ErrTaskQueueFull
	if resp.StatusCode != full.Status || json.Unmarshal(raw, &r) != nil || r.Code != full.Code || r.Msg == "" || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("associate past the queue: %d %s (Retry-After %q), want %d %s with a Retry-After",
			resp.StatusCode, raw, resp.Header.Get("Retry-After"), full.Status, full.Code)
	}
	if n := len(allRunning(t, e.c)); n != 3 {
		t.Fatalf("running-tasks lists %d, want 3 (the refused request made none)", n)
	}
}
