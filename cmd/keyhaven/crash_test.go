package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/kps/v3/model"

	"github.com/keyhaven/keyhaven/keypair"
	"github.com/keyhaven/keyhaven/store/sqlite"
)

// startKeyhaven starts the keyhaven binary bin serving on addr with the
// built-in identity, on the data directory dir, and returns once it
// serves. The caller stops (or kills) it; the test's end kills it too.
func startKeyhaven(t *testing.T, bin, dir, addr string, flags ...string) *exec.Cmd {
	t.Helper()
	args := append([]string{"serve", "--listen", addr, "--data-dir", dir, "--bootstrap-password", bootstrapPassword, "--keygen-pool", "0"}, flags...)
	cmd := exec.Command(bin, args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	var log strings.Builder
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		log.WriteString(sc.Text() + "\n")
		if strings.Contains(sc.Text(), "keyhaven serving") {
			go io.Copy(io.Discard, stderr)
			return cmd
		}
	}
	t.Fatalf("keyhaven did not start:\n%s", log.String())
	return nil
}

// TestKillDuringEscrowedCreates kills keyhaven (SIGKILL, kill -9) at random
// moments while four clients create key pairs with their private keys in
// escrow through the Huawei SDK, ten times, restarting it on the same data
// directory each time. Afterwards every escrowed key pair in the database
// has its create-escrowed audit entry, every entry names a key pair that
// exists, no acknowledged create is lost, and `keyhaven audit verify`
// passes. (When the entry was written in a second transaction after the
// create, such runs lost about one entry in a hundred.)
func TestKillDuringEscrowedCreates(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and kills it ten times")
	}
	const kills, clients = 10, 4
	bin := buildBinary(t)
	dir := filepath.Join(t.TempDir(), "data")
	flags := []string{"--quota-key-pairs", "-1"}

	var user cloudUser
	acked := map[string]bool{}
	var mu sync.Mutex
	for round := range kills {
		addr := freeAddr(t)
		cmd := startKeyhaven(t, bin, dir, addr, flags...)
		srv := &testServer{URL: "http://" + addr}
		if round == 0 {
			adminTok, _, _ := adminToken(t, srv)
			user = newCloudUser(t, srv, adminTok, "alice", "team", "member")
		}
		var killed atomic.Bool
		var wg sync.WaitGroup
		for c := range clients {
			client := kpsClient(t, srv, user)
			wg.Go(func() {
				for i := 0; ; i++ {
					name := fmt.Sprintf("r%02d-c%d-%04d", round, c, i)
					_, err := client.CreateKeypair(&model.CreateKeypairRequest{Body: &model.CreateKeypairRequestBody{
						Keypair: &model.CreateKeypairAction{Name: name, KeyProtection: protectDefault()}}})
					if err != nil {
						if !killed.Load() {
							t.Errorf("create %s while keyhaven runs: %v", name, err)
						}
						return
					}
					mu.Lock()
					acked[name] = true
					mu.Unlock()
				}
			})
		}
		time.Sleep(time.Duration(200+mrand.IntN(1300)) * time.Millisecond)
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

	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "keyhaven.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	escrowed := map[int64]*keypair.KeyPair{}
	for after := int64(0); ; {
		batch, err := st.ListEscrowed(context.Background(), after, 500)
		if err != nil {
			t.Fatal(err)
		}
		if len(batch) == 0 {
			break
		}
		for _, kp := range batch {
			escrowed[kp.ID] = kp
			after = kp.ID
		}
	}
	entries := map[int64]int{}
	es, err := st.ListAudit(context.Background(), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		if e.Action != keypair.AuditCreateEscrowed {
			continue
		}
		entries[e.KeyPairID]++
		if kp := escrowed[e.KeyPairID]; kp == nil || kp.UID != e.KeyPairUID || kp.Name != e.KeyPairName {
			t.Errorf("audit entry %d records the create of key pair %d (%s), which the database does not hold", e.Seq, e.KeyPairID, e.KeyPairName)
		}
	}
	missing := 0
	byName := map[string]bool{}
	for id, kp := range escrowed {
		byName[kp.Name] = true
		if entries[id] != 1 {
			missing++
			t.Errorf("escrowed key pair %d (%s) has %d create-escrowed entries, want 1", id, kp.Name, entries[id])
		}
	}
	for name := range acked {
		if !byName[name] {
			t.Errorf("acknowledged create of %s lost", name)
		}
	}
	t.Logf("%d kills: %d creates acknowledged, %d escrowed key pairs in the database, %d create-escrowed entries, %d missing",
		kills, len(acked), len(escrowed), len(entries), missing)
	if len(acked) < kills*clients {
		t.Errorf("only %d creates were acknowledged over %d rounds: the test proves little", len(acked), kills)
	}

	var out bytes.Buffer
	verify := exec.Command(bin, "audit", "--data-dir", dir, "verify")
	verify.Stdout, verify.Stderr = &out, &out
	if err := verify.Run(); err != nil || !strings.Contains(out.String(), "hash chain verified") {
		t.Fatalf("keyhaven audit verify: %v\n%s", err, out.String())
	}
}
