package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
)

// TestTwoProcessesOneDatabase runs two real keyhaven processes on one
// PostgreSQL database and one data directory, as behind a load balancer:
// uniqueness, quota and pagination hold across both.
func TestTwoProcessesOneDatabase(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	db := postgresURL(t)
	data := filepath.Join(t.TempDir(), "shared-data")
	srvs := startProcesses(t, 2, testTokens, "--database", db, "--data-dir", data, "--quota-key-pairs", "30")
	a, b := srvs[0], srvs[1]
	pub, _ := sshKeygen(t, "-t", "ed25519")
	body := func(name string) string {
		return `{"keypair": {"name": "` + name + `", "public_key": "` + strings.TrimSpace(pub) + `"}}`
	}
	h := func(token string) map[string]string {
		return map[string]string{"X-Auth-Token": token, "Content-Type": "application/json", "OpenStack-API-Version": "compute 2.35"}
	}
	race := func(token string, n int, name func(int) string) (ok, conflict, quota int64) {
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				srv := a
				if i%2 == 1 {
					srv = b
				}
				resp, raw := srv.do(t, "POST", "/v2.1/os-keypairs", h(token), body(name(i)))
				switch resp.StatusCode {
				case 201:
					atomic.AddInt64(&ok, 1)
				case 409:
					atomic.AddInt64(&conflict, 1)
				case 403:
					atomic.AddInt64(&quota, 1)
				default:
					t.Errorf("create %q: %d %s", name(i), resp.StatusCode, raw)
				}
			}()
		}
		wg.Wait()
		return
	}
	if ok, conflict, _ := race("bob-token", 50, func(int) string { return "same" }); ok != 1 || conflict != 49 {
		t.Fatalf("50 creates of one name across two processes: %d succeeded, %d conflicted", ok, conflict)
	}
	if ok, _, quota := race("alice-token", 60, func(i int) string { return fmt.Sprintf("q%02d", i) }); ok != 30 || quota != 30 {
		t.Fatalf("60 creates over a quota of 30 across two processes: %d succeeded, %d over quota", ok, quota)
	}

	// Page through alice's 30 key pairs on one instance while the other
	// deletes and re-creates some: every key pair that exists throughout
	// is seen exactly once, in order.
	stable := map[string]bool{}
	for i := range 60 {
		name := fmt.Sprintf("q%02d", i)
		if resp, _ := a.do(t, "GET", "/v2.1/os-keypairs/"+name, h("alice-token"), ""); resp.StatusCode == 200 && i%3 != 0 {
			stable[name] = true
		}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 60; i += 3 {
			name := fmt.Sprintf("q%02d", i)
			b.do(t, "DELETE", "/v2.1/os-keypairs/"+name, h("alice-token"), "")
			b.do(t, "POST", "/v2.1/os-keypairs", h("alice-token"), body(name))
		}
	}()
	seen := map[string]int{}
	lastStable, marker := "", ""
	for range 40 {
		q := "/v2.1/os-keypairs?limit=4"
		if marker != "" {
			q += "&marker=" + marker
		}
		resp, raw := a.do(t, "GET", q, h("alice-token"), "")
		if resp.StatusCode != 200 {
			t.Fatalf("page after %q: %d %s", marker, resp.StatusCode, raw)
		}
		names := namesIn(string(raw))
		for _, n := range names {
			if !stable[n] {
				continue // being deleted and re-created: may show or not
			}
			if n <= lastStable {
				t.Fatalf("page after %q repeats or reorders: %v", marker, names)
			}
			lastStable = n
			seen[n]++
		}
		if len(names) < 4 {
			break
		}
		// Resume after the last stable name: a marker the other instance
		// is deleting would be refused, as in Nova.
		if lastStable == marker {
			marker = names[len(names)-1]
		} else {
			marker = lastStable
		}
	}
	<-done
	for n := range stable {
		if seen[n] != 1 {
			t.Errorf("%s seen %d times while paging", n, seen[n])
		}
	}
}

// namesIn extracts the key pair names of a Nova list body.
func namesIn(raw string) []string {
	var out []string
	for _, part := range strings.Split(raw, `"name":"`)[1:] {
		out = append(out, part[:strings.Index(part, `"`)])
	}
	return out
}

// startProcesses builds the binary and starts n keyhaven processes with
// the same flags and tokens file, each on its own port.
func startProcesses(t *testing.T, n int, tokens string, flags ...string) []*testServer {
	t.Helper()
	bin := buildBinary(t)
	tokPath := filepath.Join(t.TempDir(), "tokens")
	if err := os.WriteFile(tokPath, []byte(tokens), 0o600); err != nil {
		t.Fatal(err)
	}
	var servers []*testServer
	for range n {
		addr := freeAddr(t)
		cmd := exec.Command(bin, append([]string{"serve", "--listen", addr, "--tokens-file", tokPath, "--bootstrap-password", bootstrapPassword, "--keygen-pool", "0"}, flags...)...)
		stderr, err := cmd.StderrPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Signal(syscall.SIGTERM); _ = cmd.Wait() })
		sc := bufio.NewScanner(stderr)
		for sc.Scan() && !strings.Contains(sc.Text(), "keyhaven serving") {
		}
		go io.Copy(io.Discard, stderr)
		servers = append(servers, &testServer{URL: "http://" + addr})
	}
	return servers
}
