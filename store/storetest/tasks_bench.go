package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/task"
)

// seedTasks gives s servers servers and history finished tasks spread
// over them, as a store that has served for a while holds.
func seedTasks(b *testing.B, s TaskStore, servers, history int) {
	b.Helper()
	ctx := b.Context()
	for i := range servers {
		if err := s.PutServer(ctx, newServer(fmt.Sprintf("srv-%d", i), "p-1")); err != nil {
			b.Fatal(err)
		}
	}
	for i := range history {
		tk := newTask("p-1", fmt.Sprintf("srv-%d", i%servers), owner)
		if err := s.CreateTask(ctx, tk, nil); err != nil {
			b.Fatal(err)
		}
		got, err := s.ClaimTask(ctx, owner, time.Now(), time.Now().Add(time.Hour))
		if err != nil || got == nil {
			b.Fatalf("seed claim: %v, %v", got, err)
		}
		got.Phase = task.Success
		if err := s.FinishTask(ctx, got, owner, nil, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchTaskCycle measures one task's life in the store: CreateTask with
// its audit entry, ClaimTask, FinishTask with the server's association and
// its audit entry (five statements in three write transactions), on a
// store already holding history finished tasks over 50 servers.
func BenchTaskCycle(b *testing.B, s TaskStore, history int) {
	const servers = 50
	seedTasks(b, s, servers, history)
	ctx := b.Context()
	i := 0
	for b.Loop() {
		tk := newTask("p-1", fmt.Sprintf("srv-%d", i%servers), owner)
		i++
		if err := s.CreateTask(ctx, tk, tk.AuditEntry(time.Now())); err != nil {
			b.Fatal(err)
		}
		got, err := s.ClaimTask(ctx, owner, time.Now(), time.Now().Add(time.Hour))
		if err != nil || got == nil {
			b.Fatalf("claim: %v, %v", got, err)
		}
		got.Phase = task.Success
		assoc := &task.Server{KeyPairName: got.KeyPairName, KeyPairID: got.KeyPairID, PublicKey: got.PublicKey}
		if err := s.FinishTask(ctx, got, owner, assoc, got.AuditEntry(time.Now())); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchClaimIdle measures what a worker's poll costs when there is nothing
// to claim: ClaimTask over history finished tasks and, on every one of 50
// servers, a RUNNING task and a READY one waiting behind it.
func BenchClaimIdle(b *testing.B, s TaskStore, history int) {
	const servers = 50
	seedTasks(b, s, servers, history)
	ctx := b.Context()
	for i := range servers {
		for range 2 {
			if err := s.CreateTask(ctx, newTask("p-1", fmt.Sprintf("srv-%d", i), owner), nil); err != nil {
				b.Fatal(err)
			}
		}
		if got, err := s.ClaimTask(ctx, owner, time.Now(), time.Now().Add(time.Hour)); err != nil || got == nil {
			b.Fatalf("claim: %v, %v", got, err)
		}
	}
	for b.Loop() {
		got, err := s.ClaimTask(ctx, owner, time.Now(), time.Now().Add(time.Hour))
		if err != nil || got != nil {
			b.Fatalf("idle claim = %v, %v; want nothing", got, err)
		}
	}
}
