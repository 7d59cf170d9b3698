package sshpush

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/sshdtest"
	"github.com/keyhaven/keyhaven/task"
)

// BenchmarkRewriteAuthorizedKeys: one REPLACE-style rewrite of a 100-line
// file.
func BenchmarkRewriteAuthorizedKeys(b *testing.B) {
	var sb strings.Builder
	for i := range 100 {
		if i%10 == 0 {
			sb.WriteString("# comment\n")
		}
		sb.WriteString(`from="10.0.0.1",no-pty ` + keyC + "\n")
	}
	sb.WriteString(keyB + "\n")
	current := []byte(sb.String())
	b.SetBytes(int64(len(current)))
	for b.Loop() {
		if _, err := RewriteAuthorizedKeys(current, keyA, []string{keyB}, testNow); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBindUnbind: a BIND by password (log in, read, write with the
// probe, log in with the probe, write, read back) then an UNBIND, against
// a real sshd on 127.0.0.1.
func BenchmarkBindUnbind(b *testing.B) {
	s := sshdtest.Start(b, sshdtest.Options{})
	kp := keygen(b, "ed25519")
	bind := jobFor(s, task.Bind, task.Credentials{Password: s.Password})
	bind.AddKey = kp.pub
	unbind := jobFor(s, task.Unbind, task.Credentials{Password: s.Password})
	unbind.RemoveKeys = []string{kp.pub}
	e := New(Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	for b.Loop() {
		if err := e.Execute(ctx, bind); err != nil {
			b.Fatal(err)
		}
		if err := e.Execute(ctx, unbind); err != nil {
			b.Fatal(err)
		}
	}
}
