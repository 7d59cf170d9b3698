package main

import (
	"net/url"
	"strings"
	"testing"
	"time"

	kpsapi "github.com/keyhaven/keyhaven/api/kps"
	"github.com/keyhaven/keyhaven/internal/pgtest"
)

// TestDatabaseOutage stops PostgreSQL under a running keyhaven: requests
// get a clear 503 in each API's format while it is down and succeed again
// once it is back, without a restart.
func TestDatabaseOutage(t *testing.T) {
	pg := pgtest.StartDedicated(t)
	q := url.Values{"host": {pg.Dir}, "sslmode": {"disable"}, "connect_timeout": {"2"}}
	srv := startIdentityServer(t, "--database", "postgres://postgres@/postgres?"+q.Encode())
	tok, _, project := adminToken(t, srv)
	nova := map[string]string{"X-Auth-Token": tok, "Content-Type": "application/json", "OpenStack-API-Version": "compute 2.2"}
	pub, _ := sshKeygen(t, "-t", "ed25519")
	create := func(name string) (int, string) {
		resp, raw := srv.do(t, "POST", "/v2.1/os-keypairs", nova, `{"keypair": {"name": "`+name+`", "public_key": "`+strings.TrimSpace(pub)+`"}}`)
		return resp.StatusCode, string(raw)
	}
	if code, raw := create("before"); code != 201 {
		t.Fatalf("before the outage: %d %s", code, raw)
	}

	pg.Stop(t)
	if code, raw := create("during"); code != 503 || !strings.Contains(raw, `"serviceUnavailable"`) {
		t.Fatalf("Nova during the outage: %d %s", code, raw)
	}
	resp, raw := srv.do(t, "GET", "/v3/"+project+"/keypairs", map[string]string{"X-Auth-Token": tok}, "")
	if resp.StatusCode != 503 || !strings.Contains(string(raw), kpsapi.ErrDatabaseQuery.Code) {
		t.Fatalf("KPS during the outage: %d %s", resp.StatusCode, raw)
	}
	login := `{"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "admin", "domain": {"id": "default"}, "password": "` + bootstrapPassword + `"}}}}}`
	if resp, raw := srv.do(t, "POST", "/identity/v3/auth/tokens", map[string]string{"Content-Type": "application/json"}, login); resp.StatusCode != 503 {
		t.Fatalf("identity during the outage: %d %s", resp.StatusCode, raw)
	}
	if resp, _ := srv.do(t, "GET", "/healthz", nil, ""); resp.StatusCode != 503 {
		t.Fatalf("healthz during the outage: %d", resp.StatusCode)
	}

	pg.Restart(t)
	ok := false
	for range 50 {
		if code, _ := create("after"); code == 201 {
			ok = true
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !ok {
		t.Fatal("keyhaven did not recover when the database came back")
	}
	resp, raw = srv.do(t, "GET", "/v2.1/os-keypairs", nova, "")
	if resp.StatusCode != 200 || !strings.Contains(string(raw), `"before"`) || strings.Contains(string(raw), `"during"`) {
		t.Fatalf("after the outage: %d %s", resp.StatusCode, raw)
	}
}
