package task_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/keyhaven/keyhaven/task"
)

// instant is an executor that succeeds at once: the benchmarks measure
// what the service and the store cost around the SSH work.
type instant struct{}

func (instant) Execute(context.Context, task.Job) error { return nil }

// BenchmarkAssociate measures accepting one association (policy, server
// and key pair lookups, the task and its audit entry written in one
// SQLite transaction), with no pool running.
func BenchmarkAssociate(b *testing.B) {
	e := newEnv(b, nil, nil)
	e.addKeyPair(b, alice, "k", newKey(b))
	e.addServer(b, "s", "p1", "127.0.0.1", 22, "root", someHostKey, "")
	in := task.AssociateInput{KeyPairName: "k", ServerID: "s", Credentials: &task.Credentials{Password: "pw"}}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.svc.Associate(ctx, alice, in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPool measures a task's whole life through the pool on SQLite
// (accept, claim, finish with the server's association and two audit
// entries) with 8 workers over 100 servers and an executor that does no
// SSH work: the pool's ceiling, far above what SSH logins allow.
func BenchmarkPool(b *testing.B) {
	e := newEnv(b, instant{}, nil)
	e.run(b)
	e.addKeyPair(b, alice, "k", newKey(b))
	for i := range 100 {
		e.addServer(b, fmt.Sprintf("s%d", i), "p1", "127.0.0.1", 22, "root", someHostKey, "")
	}
	ctx := context.Background()
	var ids []string
	b.ResetTimer()
	for i := range b.N {
		t, err := e.svc.Associate(ctx, alice, task.AssociateInput{KeyPairName: "k", ServerID: fmt.Sprintf("s%d", i%100),
			Credentials: &task.Credentials{Password: "pw"}})
		if err != nil {
			b.Fatal(err)
		}
		ids = append(ids, t.ID)
	}
	for _, id := range ids {
		e.wait(b, id)
	}
	b.StopTimer()
}
