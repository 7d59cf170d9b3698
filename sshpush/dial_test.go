package sshpush

import (
	"context"
	"errors"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/task"
)

// TestDialFailure: each way a TCP connect fails has its code and message;
// the real refused and silent cases are in TestFailures, these are the
// ones a test machine cannot produce on demand (no route, a SYN that is
// never answered, DNS).
func TestDialFailure(t *testing.T) {
	tg := &target{addr: "10.0.0.5:22", timeout: 10 * time.Second}
	op := func(err error) error { return &net.OpError{Op: "dial", Net: "tcp", Err: err} }
	for _, c := range []struct {
		err  error
		code task.FailureCode
		msg  string
	}{
		{op(os.NewSyscallError("connect", syscall.ECONNREFUSED)), task.FailUnreachable, "connection refused by 10.0.0.5:22"},
		{op(os.NewSyscallError("connect", syscall.EHOSTUNREACH)), task.FailUnreachable, "no route to 10.0.0.5:22"},
		{op(os.NewSyscallError("connect", syscall.ENETUNREACH)), task.FailUnreachable, "no route to 10.0.0.5:22"},
		{op(context.DeadlineExceeded), task.FailTimeout, "connection timed out after 10s"},
		{op(os.ErrDeadlineExceeded), task.FailTimeout, "connection timed out after 10s"},
		{op(&net.DNSError{Name: "nosuch.example", Err: "no such host", IsNotFound: true}), task.FailUnreachable, "cannot resolve nosuch.example: no such host"},
		{op(errors.New("weird")), task.FailUnreachable, "cannot connect to 10.0.0.5:22: dial tcp: weird"},
	} {
		f := dialFailure(context.Background(), tg, c.err)
		if f.Code != c.code || f.Message != c.msg {
			t.Errorf("%v: %s %q, want %s %q", c.err, f.Code, f.Message, c.code, c.msg)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if f := dialFailure(ctx, tg, op(context.Canceled)); f.Code != task.FailInterrupted {
		t.Errorf("cancelled: %s %q", f.Code, f.Message)
	}
}
