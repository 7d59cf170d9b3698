package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	kps "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/kps/v3"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/kps/v3/model"

	"github.com/keyhaven/keyhaven/internal/sshdtest"
)

// raceSetup starts n real sshd servers, each with the operator's own line
// in authorized_keys, and registers them as race-0… with register.
func raceSetup(t *testing.T, n int, reg func(id string, s *sshdtest.Server)) ([]*sshdtest.Server, []string) {
	t.Helper()
	servers := make([]*sshdtest.Server, n)
	seeds := make([]string, n)
	for i := range servers {
		servers[i] = sshdtest.Start(t, sshdtest.Options{})
		seeds[i] = operatorLine(t)
		servers[i].SetAuthorizedKeys(t, seeds[i]+"\n")
		reg(fmt.Sprintf("race-%d", i), servers[i])
	}
	return servers, seeds
}

// submitAll submits, at the same moment, key pair keys[j] to server
// j%len(servers), through clients[j%len(clients)], and returns the task
// ids by j.
func submitAll(t *testing.T, clients []*kps.KpsClient, servers []*sshdtest.Server, keys []keyPair) []string {
	t.Helper()
	ids := make([]string, len(keys))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for j, k := range keys {
		s := servers[j%len(servers)]
		c := clients[j%len(clients)]
		wg.Go(func() {
			<-start
			ids[j] = associate(t, c, k.Name, fmt.Sprintf("race-%d", j%len(servers)), byPassword(s.Password), false)
		})
	}
	close(start)
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	return ids
}

// checkLines checks that each server's authorized_keys holds its
// operator line and each of its key pairs exactly once, and no other
// key pair's: no update was lost and none applied to the wrong server;
// and that sshd logged one password login per task: none ran twice.
func checkLines(t *testing.T, servers []*sshdtest.Server, seeds []string, keys []keyPair) {
	t.Helper()
	for i, s := range servers {
		ak := s.AuthorizedKeys(t)
		tasks := (len(keys) - i + len(servers) - 1) / len(servers)
		if n := strings.Count(s.Log(), "Accepted password for "+s.User+" "); n != tasks {
			t.Errorf("server %d: sshd logged %d password logins, want one for each of its %d tasks", i, n, tasks)
		}
		if strings.Count(ak, seeds[i]) != 1 {
			t.Errorf("server %d: the operator's line is there %d times, want once:\n%s", i, strings.Count(ak, seeds[i]), ak)
		}
		for j, k := range keys {
			want := 0
			if j%len(servers) == i {
				want = 1
			}
			if got := keyLines(ak, k.Public); got != want {
				t.Errorf("server %d: key pair %s on %d lines, want %d:\n%s", i, k.Name, got, want, ak)
			}
		}
	}
}

// oneRunningPerServer polls every task until all have finished and fails
// the test if two tasks of one server were ever seen RUNNING at once: a
// task seen RUNNING before and after another of its server was seen
// RUNNING overlapped it (phases only move forward).
func oneRunningPerServer(t *testing.T, c *kps.KpsClient, ids []string, servers int) {
	t.Helper()
	status := func(id string) string {
		r, err := c.ListKeypairTask(&model.ListKeypairTaskRequest{TaskId: id})
		if err != nil || r.TaskStatus == nil {
			t.Fatalf("task %s: %+v %v", id, r, err)
		}
		return r.TaskStatus.Value()
	}
	deadline := time.Now().Add(pollLimit)
	for {
		busy := false
		for i := range servers {
			var mine []string
			for j := i; j < len(ids); j += servers {
				mine = append(mine, ids[j])
			}
			for a := range mine {
				for b := range mine {
					if a == b || !strings.HasPrefix(status(mine[a]), "RUNNING_") {
						continue
					}
					busy = true
					if strings.HasPrefix(status(mine[b]), "RUNNING_") && strings.HasPrefix(status(mine[a]), "RUNNING_") {
						t.Fatalf("server race-%d runs tasks %s and %s at once", i, mine[a], mine[b])
					}
				}
			}
		}
		if !busy && allFinished(status, ids) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("tasks still unfinished after the poll limit")
		}
		time.Sleep(pollEvery / 10)
	}
}

// allFinished reports whether every task's phase is final.
func allFinished(status func(string) string, ids []string) bool {
	for _, id := range ids {
		if s := status(id); !strings.HasPrefix(s, "SUCCESS_") && !strings.HasPrefix(s, "FAILED_") {
			return false
		}
	}
	return true
}

// TestConcurrentAssociations submits 20 associations of 20 key pairs over
// 5 real servers at once: every one ends SUCCESS_BIND, each server runs
// one task at a time, and each server's authorized_keys ends with exactly
// its four keys and the operator's line (no rewrite lost another's).
func TestConcurrentAssociations(t *testing.T) {
	e := newAssocEnv(t)
	servers, seeds := raceSetup(t, 5, func(id string, s *sshdtest.Server) { e.registerSSHD(t, id, s) })
	keys := make([]keyPair, 20)
	for j := range keys {
		keys[j] = newKeyPair(t, e.c, fmt.Sprintf("race-k%02d", j))
	}
	ids := submitAll(t, []*kps.KpsClient{e.c}, servers, keys)
	oneRunningPerServer(t, e.c, ids, len(servers))
	for _, id := range ids {
		if st := waitAssociated(t, e.c, id); st != "SUCCESS_BIND" {
			t.Fatalf("task %s ended %s, want SUCCESS_BIND", id, st)
		}
	}
	checkLines(t, servers, seeds, keys)
}

// TestAssociateTwoProcessesOnePostgres runs two real keyhaven processes on
// one PostgreSQL database and submits ten associations over five servers
// to both at the same moment: each task runs exactly once (its key on
// exactly one line of exactly its server), each server one task at a
// time, and both instances answer for every task.
func TestAssociateTwoProcessesOnePostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	db := postgresURL(t)
	data := filepath.Join(t.TempDir(), "shared-data")
	procs := startProcesses(t, 2, "", "--database", db, "--data-dir", data, "--quota-key-pairs", "-1")
	adminTok, _, _ := adminToken(t, procs[0])
	alice := newCloudUser(t, procs[0], adminTok, "alice", "team", "member")
	clients := []*kps.KpsClient{kpsClient(t, procs[0], alice), kpsClient(t, procs[1], alice)}
	servers, seeds := raceSetup(t, 5, func(id string, s *sshdtest.Server) {
		register(t, data, db, sshdInventory(id, alice.Project, s))
	})
	keys := make([]keyPair, 10)
	for j := range keys {
		keys[j] = newKeyPair(t, clients[j%2], fmt.Sprintf("pg-k%02d", j))
	}
	// j%2 picks the process and j%5 the server, so every server gets one
	// task from each process.
	ids := submitAll(t, clients, servers, keys)
	oneRunningPerServer(t, clients[0], ids, len(servers))
	for j, id := range ids {
		for _, c := range clients {
			if st := waitAssociated(t, c, id); st != "SUCCESS_BIND" {
				t.Fatalf("task %d (%s) ended %s, want SUCCESS_BIND", j, id, st)
			}
		}
	}
	checkLines(t, servers, seeds, keys)
	for _, c := range clients {
		if n := len(allRunning(t, c)) + len(allFailed(t, c)); n != 0 {
			t.Fatalf("%d tasks left running or failed: %s", n, failedSummary(t, c))
		}
	}
}
