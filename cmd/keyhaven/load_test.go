package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/loadgen"
)

// TestLoadCommand runs `keyhaven load` against a real keyhaven for a short
// time with each way of authenticating, every operation and two target
// names (the same server twice, for the ratio column), and checks that it
// prints a well-formed table with no errors. It asserts no speed.
func TestLoadCommand(t *testing.T) {
	srv := startServer(t, testTokens, "--bootstrap-password", bootstrapPassword,
		"--quota-key-pairs", "-1", "--keygen-concurrency", "2", "--keygen-wait", "30s", "--keygen-pool", "4", "--log-level", "error")
	adminTok, _, _ := adminToken(t, srv)
	carol := newCloudUser(t, srv, adminTok, "carol", "load", "member")
	login := []string{"--username", "carol", "--password", "pw-carol", "--project", "load"}
	cases := []struct {
		name string
		args []string
	}{
		{"static token", append([]string{"--token", "alice-token", "--project-id", testProject,
			"--ops", strings.Join(loadgen.AllOperations, ",")}, login...)},
		{"keystone token", append([]string{"--auth", "keystone"}, login...)},
		{"aksk", append([]string{"--auth", "aksk", "--ak", carol.AK, "--sk", carol.SK, "--project-id", carol.Project}, login...)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"load", "--duration", "300ms", "--connections", "2", "--delete-setup", "20",
				"--target", "one=" + srv.URL, "--target", "two=" + srv.URL}, c.args...)
			var out, errw bytes.Buffer
			if err := run(context.Background(), args, func(string) string { return "" }, &out, &errw); err != nil {
				t.Fatalf("load: %v\n%s\n%s", err, out.String(), errw.String())
			}
			checkLoadTable(t, out.String(), []string{"one", "two"})
			if c.name == "static token" && !hasRow(out.String(), loadgen.OpHealthz, "one") {
				t.Errorf("no healthz row\n%s", out.String())
			}
		})
	}
}

// hasRow says whether the table has a row of op against target.
func hasRow(out, op, target string) bool {
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) > 2 && f[0] == op && f[1] == target {
			return true
		}
	}
	return false
}

// checkLoadTable checks the table's header and that every operation has a
// row per target with figures and zero errors.
func checkLoadTable(t *testing.T, out string, targets []string) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	want := []string{"operation", "target", "req/s", "p50", "p99", "max", "errors", "×", targets[len(targets)-1]}
	if got := strings.Fields(lines[0]); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("header %q, want %q\n%s", got, want, out)
	}
	rows := map[string]bool{}
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) != 8 {
			// Notes follow the table; the only one allowed says delete
			// removed every key pair it had before the time was up.
			if !strings.Contains(l, "used up its key pairs") {
				t.Errorf("unexpected line (an error or a skip): %q\n%s", l, out)
			}
			continue
		}
		rows[f[0]+" "+f[1]] = true
		if f[6] != "0" {
			t.Errorf("%s on %s: %s errors\n%s", f[0], f[1], f[6], out)
		}
		for _, v := range f[3:6] {
			if !strings.HasSuffix(v, "ms") {
				t.Errorf("%s on %s: latency %q", f[0], f[1], v)
			}
		}
	}
	for _, op := range loadgen.DefaultOperations {
		for _, tg := range targets {
			if !rows[op+" "+tg] {
				t.Errorf("no row for %s on %s\n%s", op, tg, out)
			}
		}
	}
}

func TestLoadRefusesRemoteTargets(t *testing.T) {
	cases := []struct {
		target string
		extra  []string
		want   string
	}{
		{"http://192.0.2.1:8774", nil, "not a loopback address"},
		{"ftp://127.0.0.1:8774", nil, "not an http(s) URL"},
		{"http://127.0.0.1:1", []string{"--ops", "nope"}, `unknown operation "nope"`},
		{"http://127.0.0.1:1", []string{"--auth", "aksk"}, "give --ak and --sk"},
	}
	for _, c := range cases {
		args := append([]string{"load", "--token", "x", "--target", "k=" + c.target}, c.extra...)
		var out, errw bytes.Buffer
		err := run(context.Background(), args, func(string) string { return "" }, &out, &errw)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %v: %v, want %q", c.target, c.extra, err, c.want)
		}
	}
}

// TestLoadBurst: --requests ends an operation after that many requests,
// the way a burst against a full key pool is measured.
func TestLoadBurst(t *testing.T) {
	srv := startServer(t, testTokens, "--quota-key-pairs", "-1", "--keygen-pool", "3", "--keygen-wait", "30s")
	res, err := loadgen.Run(context.Background(), loadgen.Config{
		Targets: []loadgen.Target{{Name: "k", URL: srv.URL, Token: "alice-token"}}, Operations: []string{loadgen.OpGenerate},
		Duration: time.Minute, Connections: 2, Requests: 5}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || res[0].Requests != 5 || res[0].Errors != 0 {
		t.Fatalf("results: %+v", res)
	}
}
