package storetest

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/task"
)

// claim claims a task of ownedBy from s with an hour's lease.
func claim(t *testing.T, s TaskStore, ownedBy string) *task.Task {
	t.Helper()
	tk, err := s.ClaimTask(t.Context(), ownedBy, time.Now(), time.Now().Add(time.Hour))
	must(t, err, "ClaimTask")
	return tk
}

// wantClaim fails the test unless claiming for ownedBy returns want (nil:
// nothing).
func wantClaim(t *testing.T, s TaskStore, ownedBy string, want *task.Task, what string) *task.Task {
	t.Helper()
	got := claim(t, s, ownedBy)
	switch {
	case want == nil && got != nil:
		t.Fatalf("%s: claimed %s (server %s), want nothing", what, got.ID, got.ServerID)
	case want != nil && got == nil:
		t.Fatalf("%s: claimed nothing, want %s", what, want.ID)
	case want != nil && got.ID != want.ID:
		t.Fatalf("%s: claimed %s (seq %d), want %s (seq %d)", what, got.ID, got.Seq, want.ID, want.Seq)
	}
	return got
}

// succeed finishes the claimed task tk as SUCCESS.
func succeed(t *testing.T, s TaskStore, tk *task.Task, ownedBy string) {
	t.Helper()
	tk.Phase = task.Success
	must(t, s.FinishTask(t.Context(), tk, ownedBy, nil, nil), "FinishTask")
}

func testClaimOrder(t *testing.T, s TaskStore) {
	putServer(t, s, "srv-a", "p-1")
	putServer(t, s, "srv-b", "p-1")
	putServer(t, s, "srv-c", "p-1")
	wantClaim(t, s, owner, nil, "empty store")
	a1 := createTask(t, s, "p-1", "srv-a", owner)
	a2 := createTask(t, s, "p-1", "srv-a", owner)
	b1 := createTask(t, s, "p-1", "srv-b", owner)
	// srv-c's oldest task belongs to another instance: ours waits behind it.
	c1 := createTask(t, s, "p-1", "srv-c", "instance-2")
	c2 := createTask(t, s, "p-1", "srv-c", owner)

	before := time.Now().Add(-time.Second)
	got := wantClaim(t, s, owner, a1, "first claim")
	if got.Phase != task.Running || got.StartedAt.Before(before) || got.Owner != owner {
		t.Errorf("claimed task %+v, want RUNNING, started now, ours", got)
	}
	gotB := wantClaim(t, s, owner, b1, "second claim (srv-a busy)")
	wantClaim(t, s, owner, nil, "third claim (a2 waits for a1, c2 for c1)")
	succeed(t, s, got, owner)
	gotA2 := wantClaim(t, s, owner, a2, "after a1 finished")
	wantClaim(t, s, owner, nil, "srv-c still behind another instance's task")
	otherC1 := wantClaim(t, s, "instance-2", c1, "the other instance")
	wantClaim(t, s, "instance-2", nil, "the other instance has nothing left")
	succeed(t, s, otherC1, "instance-2")
	wantClaim(t, s, owner, c2, "after c1 finished")
	succeed(t, s, gotB, owner)
	succeed(t, s, gotA2, owner)
	wantClaim(t, s, owner, nil, "all done")
}

// testClaimConcurrent claims from many goroutines, half on s1 and half on
// s2 (which may be s1, or another instance on the same database), until
// every task ran: each task must be claimed exactly once, in order per
// server, and no server may ever have two tasks claimed at once.
func testClaimConcurrent(t *testing.T, s1, s2 TaskStore) {
	const servers, perServer, workers = 5, 12, 12
	var want []*task.Task
	for i := range servers {
		putServer(t, s1, fmt.Sprintf("srv-%d", i), "p-1")
	}
	for range perServer {
		for i := range servers {
			want = append(want, createTask(t, s1, "p-1", fmt.Sprintf("srv-%d", i), owner))
		}
	}
	var mu sync.Mutex
	claimed := map[string]int{}
	busy := map[string]bool{}
	order := map[string][]int64{}
	var errs []string
	fail := func(format string, args ...any) {
		mu.Lock()
		errs = append(errs, fmt.Sprintf(format, args...))
		mu.Unlock()
	}
	var wg sync.WaitGroup
	for w := range workers {
		s := s1
		if w%2 == 1 {
			s = s2
		}
		wg.Go(func() {
			idle := 0
			for idle < 50 {
				tk, err := s.ClaimTask(t.Context(), owner, time.Now(), time.Now().Add(time.Hour))
				if err != nil {
					fail("ClaimTask: %v", err)
					return
				}
				if tk == nil {
					mu.Lock()
					done := len(claimed) == len(want)
					mu.Unlock()
					if done {
						return
					}
					idle++
					time.Sleep(2 * time.Millisecond)
					continue
				}
				idle = 0
				mu.Lock()
				claimed[tk.ID]++
				if busy[tk.ServerID] {
					errs = append(errs, fmt.Sprintf("server %s has two tasks claimed at once", tk.ServerID))
				}
				busy[tk.ServerID] = true
				order[tk.ServerID] = append(order[tk.ServerID], tk.Seq)
				mu.Unlock()
				runtime.Gosched() // "work", while another claim may wrongly succeed
				// Released before FinishTask commits: no claim of this
				// server may succeed until then.
				mu.Lock()
				busy[tk.ServerID] = false
				mu.Unlock()
				tk.Phase = task.Success
				if err := s.FinishTask(t.Context(), tk, owner, nil, nil); err != nil {
					fail("FinishTask: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	for _, e := range errs {
		t.Error(e)
	}
	for _, tk := range want {
		if n := claimed[tk.ID]; n != 1 {
			t.Errorf("task %s (server %s) claimed %d times, want once", tk.ID, tk.ServerID, n)
		}
	}
	for srv, seqs := range order {
		for i := 1; i < len(seqs); i++ {
			if seqs[i] <= seqs[i-1] {
				t.Errorf("server %s ran its tasks in order %v, want increasing seq", srv, seqs)
				break
			}
		}
	}
	ts, total, err := s2.ListTasks(t.Context(), "p-1", []task.Phase{task.Success}, 0, 0)
	must(t, err, "ListTasks")
	if total != len(want) || len(ts) != len(want) {
		t.Errorf("%d tasks SUCCESS (total %d), want %d", len(ts), total, len(want))
	}
}
