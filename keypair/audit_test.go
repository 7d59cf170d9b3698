package keypair

import (
	"bytes"
	"encoding/hex"
	"testing"
	"time"
)

// legacyEntry is an entry of the kind written before associations were
// audited; legacyHash is its hash as ComputeHash computed it then (with
// prev legacyPrev), taken from that version of the code.
var (
	legacyEntry = AuditEntry{Seq: 7, Time: time.Date(2026, 3, 4, 5, 6, 7, 123456000, time.UTC), Action: AuditExport,
		UserID: "u-1", ProjectID: "p-1", KeyPairID: 42, KeyPairUID: "uid-42", KeyPairName: "kp",
		RemoteAddr: "10.0.0.1:5", RequestID: "req-1"}
	legacyHash = "6603d0c4efd80b3c622c29482b463f3fb204b2ba3723905a3b404b00dd284c6c"
)

func legacyPrev() []byte {
	p := make([]byte, 32)
	p[0] = 9
	return p
}

// TestComputeHashLegacyUnchanged: an entry without the association fields
// hashes exactly as before they existed, so existing chains still verify.
func TestComputeHashLegacyUnchanged(t *testing.T) {
	e := legacyEntry
	if got := hex.EncodeToString(e.ComputeHash(legacyPrev())); got != legacyHash {
		t.Fatalf("hash of a legacy entry = %s, want %s", got, legacyHash)
	}
}

// TestComputeHashAssociationFields: each association field, when set,
// changes the hash, and moving a value from one field to another does too.
func TestComputeHashAssociationFields(t *testing.T) {
	base := legacyEntry
	base.Action = AuditAssociate
	tests := []struct {
		name string
		set  func(e *AuditEntry)
	}{
		{"server", func(e *AuditEntry) { e.ServerID = "x" }},
		{"task", func(e *AuditEntry) { e.TaskID = "x" }},
		{"result", func(e *AuditEntry) { e.Result = "x" }},
		{"detail", func(e *AuditEntry) { e.Detail = "x" }},
		{"server and task", func(e *AuditEntry) { e.ServerID, e.TaskID = "x", "y" }},
		{"task and server", func(e *AuditEntry) { e.ServerID, e.TaskID = "y", "x" }},
	}
	seen := map[string]string{hex.EncodeToString(base.ComputeHash(legacyPrev())): "none"}
	for _, tc := range tests {
		e := base
		tc.set(&e)
		h := hex.EncodeToString(e.ComputeHash(legacyPrev()))
		if other, dup := seen[h]; dup {
			t.Errorf("%s hashes like %s", tc.name, other)
		}
		seen[h] = tc.name
		if again := e.ComputeHash(legacyPrev()); !bytes.Equal(again, mustHex(t, h)) {
			t.Errorf("%s: hash not deterministic", tc.name)
		}
	}
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
