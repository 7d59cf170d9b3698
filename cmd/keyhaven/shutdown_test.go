package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/keypair"
)

// TestGracefulShutdownFinishesInFlight starts a request, asks the server to
// stop while the request body is still arriving, and checks the request
// is answered and written before serve returns.
func TestGracefulShutdownFinishesInFlight(t *testing.T) {
	dir := t.TempDir()
	tokPath := filepath.Join(dir, "tokens")
	if err := os.WriteFile(tokPath, []byte(testTokens), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := loadConfig("t", []string{"--listen", "127.0.0.1:0", "--data-dir", dir, "--tokens-file", tokPath}, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- serve(ctx, cfg, io.Discard, ready) }()
	addr := <-ready

	pub, _ := sshKeygen(t, "-t", "ed25519")
	body := `{"keypair": {"name": "in-flight", "public_key": "` + strings.TrimSpace(pub) + `"}}`
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /v2.1/os-keypairs HTTP/1.1\r\nHost: %s\r\nX-Auth-Token: alice-token\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", addr, len(body))
	half := len(body) / 2
	if _, err := io.WriteString(conn, body[:half]); err != nil {
		t.Fatal(err)
	}
	// Give the server time to start handling the request before the stop.
	time.Sleep(200 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		t.Fatalf("serve returned with a request in flight: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	if _, err := io.WriteString(conn, body[half:]); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("in-flight request: %d", resp.StatusCode)
	}
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
	// The key pair was committed before the database was closed.
	st, err := openStore(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.GetKeyPair(context.Background(), keypair.Viewer{UserID: "alice"}, "in-flight"); err != nil {
		t.Fatalf("in-flight key pair lost: %v", err)
	}
}

// TestBinarySIGTERM runs the real binary on its embedded defaults (only the
// port changed), uses it, and stops it with SIGTERM.
func TestBinarySIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := buildBinary(t)
	addr := freeAddr(t)

	cmd := exec.Command(bin, "serve", "--listen", addr)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "KEYHAVEN_LOG_FORMAT=json")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	// The first start bootstraps the built-in identity and prints the
	// admin password once.
	adminPassword := ""
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		line := sc.Text()
		if _, pw, ok := strings.Cut(line, "admin password (shown once): "); ok {
			adminPassword = pw
		}
		if strings.Contains(line, "keyhaven serving") {
			break
		}
	}
	if adminPassword == "" {
		t.Fatal("no admin password printed")
	}
	go io.Copy(io.Discard, stderr)
	for _, f := range []string{"keyhaven.db", "credential.key", "token-keys/1"} {
		if fi, err := os.Stat(filepath.Join(dir, "keyhaven-data", f)); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v %v; want mode 0600", f, fi, err)
		}
	}
	if fi, err := os.Stat(filepath.Join(dir, "keyhaven-data")); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("data dir: %v %v", fi, err)
	}

	srv := &testServer{URL: "http://" + addr}
	auth := `{"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "admin", "domain": {"name": "Default"}, "password": "` + adminPassword + `"}}},
		"scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}}`
	tresp, traw := srv.do(t, "POST", "/identity/v3/auth/tokens", map[string]string{"Content-Type": "application/json"}, auth)
	token := tresp.Header.Get("X-Subject-Token")
	if tresp.StatusCode != 201 || token == "" {
		t.Fatalf("token: %d %s", tresp.StatusCode, traw)
	}
	h := map[string]string{"X-Auth-Token": token, "Content-Type": "application/json", "OpenStack-API-Version": "compute 2.2"}
	resp, raw := srv.do(t, "POST", "/v2.1/os-keypairs", h, `{"keypair": {"name": "k"}}`)
	if resp.StatusCode != 201 {
		t.Fatalf("generate: %d %s", resp.StatusCode, raw)
	}
	var created struct {
		Keypair struct {
			PrivateKey string `json:"private_key"`
		} `json:"keypair"`
	}
	if err := json.Unmarshal(raw, &created); err != nil || created.Keypair.PrivateKey == "" {
		t.Fatalf("generate: %s %v", raw, err)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
	// A clean close checkpoints the WAL into the database file.
	if fi, err := os.Stat(filepath.Join(dir, "keyhaven-data", "keyhaven.db-wal")); err == nil && fi.Size() > 0 {
		t.Fatalf("WAL not checkpointed at shutdown: %d bytes", fi.Size())
	}
	db, err := os.ReadFile(filepath.Join(dir, "keyhaven-data", "keyhaven.db"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(created.Keypair.PrivateKey, "\n")[1:4] {
		if strings.Contains(string(db), line) {
			t.Fatal("the generated private key reached the database file")
		}
	}
}

// buildBinary builds keyhaven into a temporary directory.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "keyhaven")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// freeAddr returns a loopback address with a port free at the moment.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
