package main

import (
	"context"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/keypair"
	"github.com/keyhaven/keyhaven/store/sqlite"
)

// TestKillDuringImports kills keyhaven (SIGKILL, kill -9) at random
// moments while 16 clients import key pairs through Nova as fast as they
// are answered (so SQLite's group commit batches them), five times,
// restarting on the same data directory each time. Every import answered
// 200 before the kill is then shown by a restarted keyhaven (none is
// lost: the batch commits, with synchronous=FULL, before any of its
// writes is answered), and the owner's count equals the key pairs it
// holds.
func TestKillDuringImports(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and kills it five times")
	}
	const kills, clients = 5, 16
	bin := buildBinary(t)
	dir := filepath.Join(t.TempDir(), "data")
	tokPath := filepath.Join(t.TempDir(), "tokens")
	if err := os.WriteFile(tokPath, []byte(testTokens), 0o600); err != nil {
		t.Fatal(err)
	}
	flags := []string{"--tokens-file", tokPath, "--quota-key-pairs", "-1"}
	h := map[string]string{"X-Auth-Token": "alice-token", "Content-Type": "application/json"}
	pub := "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFj2YwYzbnx8rI8ZmPs0nTb0m3uVd1Qm2Hn2yq3cX8kq crash"

	var mu sync.Mutex
	var acked []string
	for round := range kills {
		addr := freeAddr(t)
		cmd := startKeyhaven(t, bin, dir, addr, flags...)
		url := "http://" + addr + "/v2.1/os-keypairs"
		var killed atomic.Bool
		var wg sync.WaitGroup
		for c := range clients {
			wg.Go(func() {
				client := &http.Client{Timeout: 30 * time.Second}
				for i := 0; ; i++ {
					name := fmt.Sprintf("r%d-c%02d-%05d", round, c, i)
					req, _ := http.NewRequest("POST", url, strings.NewReader(`{"keypair": {"name": "`+name+`", "public_key": "`+pub+`"}}`))
					for k, v := range h {
						req.Header.Set(k, v)
					}
					resp, err := client.Do(req)
					if err != nil {
						if !killed.Load() {
							t.Errorf("import %s while keyhaven runs: %v", name, err)
						}
						return
					}
					resp.Body.Close()
					if resp.StatusCode != 200 {
						if !killed.Load() {
							t.Errorf("import %s: status %d", name, resp.StatusCode)
						}
						return
					}
					mu.Lock()
					acked = append(acked, name)
					mu.Unlock()
				}
			})
		}
		time.Sleep(time.Duration(300+mrand.IntN(1200)) * time.Millisecond)
		killed.Store(true)
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		wg.Wait()
		if t.Failed() {
			t.FailNow()
		}
	}

	addr := freeAddr(t)
	startKeyhaven(t, bin, dir, addr, flags...)
	srv := &testServer{URL: "http://" + addr}
	lost := 0
	for _, name := range acked {
		if resp, raw := srv.do(t, "GET", "/v2.1/os-keypairs/"+name, h, ""); resp.StatusCode != 200 {
			lost++
			if lost <= 10 {
				t.Errorf("acknowledged import of %s lost: show answers %d %s", name, resp.StatusCode, raw)
			}
		}
	}
	t.Logf("%d kills: %d imports acknowledged, %d lost", kills, len(acked), lost)
	if len(acked) < kills*clients {
		t.Errorf("only %d imports were acknowledged over %d rounds: the test proves little", len(acked), kills)
	}

	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "keyhaven.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	n, err := st.CountKeyPairs(context.Background(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	all, err := st.ListKeyPairs(context.Background(), keypair.Viewer{UserID: "alice"}, keypair.Page{})
	if err != nil {
		t.Fatal(err)
	}
	if n != len(all) || n < len(acked) {
		t.Errorf("after the kills alice's count is %d, she holds %d key pairs, %d were acknowledged", n, len(all), len(acked))
	}
}
