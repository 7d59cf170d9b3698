package task_test

import (
	"context"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/keyhaven/keyhaven/internal/sshdtest"
	"github.com/keyhaven/keyhaven/sshpush"
	"github.com/keyhaven/keyhaven/task"
)

// TestHostileServers runs tasks against real sshd servers that accept the
// login and then misbehave in every session (a ForceCommand standing in
// for a login shell or a trojaned server): one stalls, one floods binary
// garbage, one prints escape sequences. Each task must end FAILED within
// the task timeout, free its worker (a single one: the next server's
// task still runs) and leave a message of printable text only.
func TestHostileServers(t *testing.T) {
	cases := []struct {
		name, command string
	}{
		{"stalls after login", "sleep 600"},
		{"floods binary garbage", "head -c 9000000 /dev/urandom; head -c 9000000 /dev/urandom >&2"},
		{"prints escape sequences", `printf 'keyhaven: \033]0;owned\007\033[2J\r\342\200\256evil\n' >&2; exit 3`},
	}
	good := sshdtest.Start(t, sshdtest.Options{})
	e := newEnv(t, sshpush.New(sshpush.Config{}), func(c *task.Config) { c.Workers, c.TaskTimeout = 1, 5*time.Second })
	e.run(t)
	ctx := context.Background()
	k := newKey(t)
	e.addKeyPair(t, alice, "k", k)
	e.addServer(t, "good", "p1", good.Host, good.Port, good.User, good.HostKey, good.Config)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := sshdtest.Start(t, sshdtest.Options{ExtraConfig: "ForceCommand " + c.command})
			e.addServer(t, "bad", "p1", s.Host, s.Port, s.User, s.HostKey, s.Config)
			bad, err := e.svc.Associate(ctx, alice, task.AssociateInput{KeyPairName: "k", ServerID: "bad", Credentials: &task.Credentials{Password: s.Password}})
			if err != nil {
				t.Fatal(err)
			}
			next, err := e.svc.Associate(ctx, alice, task.AssociateInput{KeyPairName: "k", ServerID: "good", Credentials: &task.Credentials{Password: good.Password}})
			if err != nil {
				t.Fatal(err)
			}
			got := e.wait(t, bad.ID)
			if got.Phase != task.Failed {
				t.Fatalf("the task on a server that %s ended %s", c.name, got.Status())
			}
			for _, r := range got.ErrorMessage {
				if !unicode.IsPrint(r) {
					t.Fatalf("the failure message carries %U from the server: %q", r, got.ErrorMessage)
				}
			}
			if len(got.ErrorMessage) > 1000 || strings.TrimSpace(got.ErrorMessage) == "" {
				t.Fatalf("failure message of %d bytes: %q", len(got.ErrorMessage), got.ErrorMessage)
			}
			if n := e.wait(t, next.ID); n.Phase != task.Success {
				t.Fatalf("the next server's task after one that %s: %s %s", c.name, n.Status(), n.ErrorMessage)
			}
			t.Logf("%s: %s %q", c.name, got.ErrorCode, got.ErrorMessage)
		})
	}
}
