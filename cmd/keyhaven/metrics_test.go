package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestMetricsAfterTraffic drives a real keyhaven through each path a
// metric family watches (Nova and KPS requests, generation from the pool,
// escrow, refused tokens and signatures) and checks that /metrics exposes
// every family with the traffic counted.
func TestMetricsAfterTraffic(t *testing.T) {
	srv := startServer(t, testTokens, "--bootstrap-password", bootstrapPassword, "--keygen-pool", "2")
	alice := map[string]string{"X-Auth-Token": "alice-token", "Content-Type": "application/json", "OpenStack-API-Version": "compute 2.2"}
	steps := []struct {
		method, path, body string
		headers            map[string]string
		want               int
	}{
		{"POST", "/v2.1/os-keypairs", `{"keypair": {"name": "m-gen"}}`, alice, 201},
		{"GET", "/v2.1/os-keypairs/m-gen", "", alice, 200},
		{"GET", "/v2.1/os-keypairs/m-gen", "", map[string]string{"X-Auth-Token": "wrong-token"}, 401},
		{"POST", "/v3/" + testProject + "/keypairs", `{"keypair": {"name": "m-esc", "key_protection": {"encryption": {"type": "default"}}}}`, alice, 200},
		{"POST", "/v3/" + testProject + "/keypairs/private-key/export", `{"keypair": {"name": "m-esc"}}`, alice, 200},
	}
	for _, s := range steps {
		if resp, raw := srv.do(t, s.method, s.path, s.headers, s.body); resp.StatusCode != s.want {
			t.Fatalf("%s %s: %d %s, want %d", s.method, s.path, resp.StatusCode, raw, s.want)
		}
	}
	bad := srv.signedRequest(t, "AKNOSUCHACCESSKEY000", "secret", "GET", "/v3/"+testProject+"/keypairs", "", nil)
	if code, out := send(t, bad); code != 401 {
		t.Fatalf("unknown access key: %d %s", code, out)
	}

	resp, raw := srv.do(t, "GET", "/metrics", nil, "")
	if resp.StatusCode != 200 {
		t.Fatalf("/metrics: %d %s", resp.StatusCode, raw)
	}
	body := string(raw)
	for _, want := range []string{
		`keyhaven_http_requests_total{dialect="nova",operation="create",status="201"} 1`,
		`keyhaven_http_requests_total{dialect="nova",operation="show",status="200"} 1`,
		`keyhaven_http_requests_total{dialect="nova",operation="show",status="401"} 1`,
		`keyhaven_http_requests_total{dialect="kps",operation="export",status="200"} 1`,
		`keyhaven_http_request_duration_seconds_bucket{dialect="kps",operation="create",le="+Inf"} 1`,
		`keyhaven_keygen_pool_keys `,
		`keyhaven_keygen_pool_capacity 2`,
		`keyhaven_keygen_running `,
		`keyhaven_keygen_waiting 0`,
		`keyhaven_keygen_concurrency `,
		`keyhaven_kms_call_duration_seconds_count{operation="seal"} 1`,
		`keyhaven_kms_call_duration_seconds_count{operation="open"} 1`,
		`keyhaven_kms_call_errors_total{operation="seal"} 0`,
		`keyhaven_auth_failures_total{method="token"} 1`,
		`keyhaven_auth_failures_total{method="aksk"} 1`,
		`keyhaven_store_calls_total{operation="create",result="ok"} 2`,
		`keyhaven_store_calls_total{operation="get",result="ok"}`,
		`keyhaven_store_group_commit_batch_size_count `,
		`go_goroutines `,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	for _, leak := range []string{"m-gen", "m-esc", "alice", testProject} {
		if strings.Contains(body, leak) {
			t.Errorf("/metrics names %q: labels must not carry names or ids", leak)
		}
	}
}

// TestPprof: off by default (the path is an unknown Nova path even for an
// administrator); with --pprof, administrators only.
func TestPprof(t *testing.T) {
	get := func(srv *testServer, token string) (int, string) {
		h := map[string]string{}
		if token != "" {
			h["X-Auth-Token"] = token
		}
		resp, raw := srv.do(t, "GET", "/debug/pprof/", h, "")
		return resp.StatusCode, string(raw)
	}
	off := startServer(t, testTokens)
	if code, body := get(off, "admin-token"); code != 404 || strings.Contains(body, "goroutine") {
		t.Errorf("pprof off: admin got %d %.100s, want 404", code, body)
	}
	on := startServer(t, testTokens, "--pprof")
	cases := []struct {
		token string
		want  int
		in    string
	}{
		{"", 401, `"code":401`},
		{"wrong-token", 401, `"title":"Unauthorized"`},
		{"alice-token", 403, `"code":403`},
		{"admin-token", 200, "goroutine"},
	}
	for _, c := range cases {
		if code, body := get(on, c.token); code != c.want || !strings.Contains(body, c.in) {
			t.Errorf("token %q: %d %.200s, want %d with %q", c.token, code, body, c.want, c.in)
		}
	}
	// A CPU profile, as docs/performance.md takes one.
	req, _ := http.NewRequest("GET", on.URL+"/debug/pprof/profile?seconds=1", nil)
	req.Header.Set("X-Auth-Token", "admin-token")
	client := &http.Client{Timeout: time.Minute}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	prof, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 || len(prof) == 0 {
		t.Errorf("profile: %d, %d bytes", res.StatusCode, len(prof))
	}
}
