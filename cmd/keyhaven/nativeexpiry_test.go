package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestNativeExpiryTwoProcessesPostgres runs two real keyhaven processes on
// one PostgreSQL database, both reaping expired key pairs every 100 ms:
// each expired key pair is deleted once and audited once, by one of them.
func TestNativeExpiryTwoProcessesPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	db := postgresURL(t)
	data := filepath.Join(t.TempDir(), "shared-data")
	srvs := startProcesses(t, 2, testTokens, "--database", db, "--data-dir", data, "--expiry-interval", "100ms")
	const n = 30
	// Expiries 50 ms apart, so that both instances' reapers find some.
	start := time.Now().Add(2 * time.Second)
	for i := range n {
		c := &nativeClient{t: t, srv: srvs[i%2], token: "alice-token"}
		at := start.Add(time.Duration(i) * 50 * time.Millisecond).UTC().Format(time.RFC3339Nano)
		c.want(201, "POST", "/keyhaven/v1/keypairs", fmt.Sprintf(`{"name": "e%02d", "expires_at": "%s"}`, i, at), nil)
	}
	keep := &nativeClient{t: t, srv: srvs[0], token: "alice-token"}
	keep.want(201, "POST", "/keyhaven/v1/keypairs", `{"name": "keep", "ttl": 3600}`, nil)
	deadline := time.Now().Add(60 * time.Second)
	for {
		var a, b nativeList
		(&nativeClient{t: t, srv: srvs[0], token: "alice-token"}).want(200, "GET", "/keyhaven/v1/keypairs", "", &a)
		(&nativeClient{t: t, srv: srvs[1], token: "alice-token"}).want(200, "GET", "/keyhaven/v1/keypairs", "", &b)
		if len(a.KeyPairs) == 1 && len(b.KeyPairs) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("expired key pairs still listed: %v / %v", a.names(), b.names())
		}
		time.Sleep(200 * time.Millisecond)
	}
	// Every expired key pair is gone from Nova too, and the audit log has
	// exactly one expire entry for each, from either instance.
	admin := &nativeClient{t: t, srv: srvs[1], token: "admin-token"}
	var log struct {
		Entries []struct {
			KeyPairID   int64  `json:"keypair_id"`
			KeyPairName string `json:"keypair_name"`
			UserID      string `json:"user_id"`
			RequestID   string `json:"request_id"`
		} `json:"entries"`
	}
	// The native API hides a key pair once its expiry passed, before a
	// reaper deletes it: wait for the entries, not only for the lists.
	for {
		admin.want(200, "GET", "/keyhaven/v1/audit?action=expire&limit=1000", "", &log)
		if len(log.Entries) >= n || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	seen := map[string]int{}
	by := map[string]int{}
	for _, e := range log.Entries {
		seen[e.KeyPairName]++
		by[e.RequestID]++
		if e.UserID != "keyhaven:expiry" {
			t.Fatalf("expire entry by %q", e.UserID)
		}
	}
	if len(log.Entries) != n || len(seen) != n {
		t.Fatalf("%d expire entries for %d key pairs, want %d each", len(log.Entries), len(seen), n)
	}
	t.Logf("expire entries by instance: %v", by)
	resp, raw := srvs[0].do(t, "GET", "/v2.1/os-keypairs", map[string]string{"X-Auth-Token": "alice-token"}, "")
	if resp.StatusCode != 200 || string(raw) == "" || !strings.Contains(string(raw), `"keep"`) || strings.Contains(string(raw), `"e00"`) {
		t.Fatalf("Nova list after expiry: %d %s", resp.StatusCode, raw)
	}
}
