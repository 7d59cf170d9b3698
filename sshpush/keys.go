package sshpush

import (
	"bytes"
	"context"
	"math/rand/v2"
	"time"

	"github.com/keyhaven/keyhaven/task"
)

// maxRaces bounds how often a rewrite starts again because the file
// changed between keyhaven's read and its write; each new start waits a
// random moment of up to raceBackoff times the number of tries.
const (
	maxRaces    = 10
	raceBackoff = 50 * time.Millisecond
)

// keysState is the login user's authorized_keys as read or written.
type keysState struct {
	content []byte
	present bool
}

// stamp is what the write script compares the file with before replacing
// it: POSIX cksum's "CRC LENGTH", or "absent".
func (k keysState) stamp() string {
	if !k.present {
		return "absent"
	}
	return posixCksum(k.content)
}

// readKeys reads the login user's authorized_keys.
func (r *attempt) readKeys(ctx context.Context) (keysState, *task.Failure) {
	res, err := run(ctx, r.client, shellCommand(scriptReadKeys, false), nil)
	if err != nil {
		return keysState{}, r.sessionFailure(ctx, err, "reading authorized_keys")
	}
	if res.exit != 0 {
		return keysState{}, task.Failf(task.FailRemote, "cannot read authorized_keys: %s", res.message())
	}
	for _, m := range []string{"present", "absent"} {
		marker := []byte("keyhaven-authorized-keys " + m + "\n")
		if i := bytes.Index(res.stdout, marker); i >= 0 {
			return keysState{content: res.stdout[i+len(marker):], present: m == "present"}, nil
		}
	}
	return keysState{}, task.Failf(task.FailRemote, "cannot read authorized_keys: unexpected output from the server")
}

// writeKeys replaces the login user's authorized_keys with next (or
// removes it when next is not present) if it is still as expected; raced
// when it is not (nothing written).
func (r *attempt) writeKeys(ctx context.Context, next, expected keysState) (raced bool, f *task.Failure) {
	mode := "write"
	if !next.present {
		mode = "remove"
	}
	res, err := run(ctx, r.client, shellCommand(scriptWriteKeys, false, expected.stamp(), mode), next.content)
	if err != nil {
		return false, r.sessionFailure(ctx, err, "writing authorized_keys")
	}
	switch {
	case res.exit == 0:
		return false, nil
	case res.exit == 4:
		return true, nil
	case res.ours():
		return false, task.Failf(task.FailRemote, "authorized_keys is not writable: %s", res.message())
	}
	return false, task.Failf(task.FailRemote, "cannot write authorized_keys: %s", res.message())
}

// update applies change to authorized_keys: read, change, write if still
// unchanged, again from the read when it was changed meanwhile. It
// returns the file as it was read and as written.
func (r *attempt) update(ctx context.Context, change func([]byte) ([]byte, error)) (before, after keysState, f *task.Failure) {
	for try := range maxRaces {
		if try > 0 {
			select {
			case <-ctx.Done():
				return keysState{}, keysState{}, contextFailure(ctx, "rewriting authorized_keys")
			case <-time.After(rand.N(raceBackoff * time.Duration(try))):
			}
		}
		cur, f := r.readKeys(ctx)
		if f != nil {
			return cur, cur, f
		}
		next, err := change(cur.content)
		if err != nil {
			return cur, cur, task.Failf(task.FailInternal, "%v", err)
		}
		if bytes.Equal(next, cur.content) && (cur.present || len(next) == 0) {
			return cur, cur, nil
		}
		written := keysState{content: next, present: true}
		raced, f := r.writeKeys(ctx, written, cur)
		if f != nil || !raced {
			return cur, written, f
		}
	}
	return keysState{}, keysState{}, task.Failf(task.FailRemote, "authorized_keys kept changing while keyhaven rewrote it (%d tries)", maxRaces)
}

// rewrite is the change that adds add and removes remove.
func rewrite(add string, remove ...string) func([]byte) ([]byte, error) {
	return func(cur []byte) ([]byte, error) {
		return RewriteAuthorizedKeys(cur, add, remove, time.Now())
	}
}

// removeOnly removes keys (UNBIND) and checks they are gone.
func (r *attempt) removeOnly(ctx context.Context, remove []string) *task.Failure {
	if _, _, f := r.update(ctx, rewrite("", remove...)); f != nil {
		return f
	}
	return r.verify(ctx, "", remove)
}

// verify reads authorized_keys back: add present, remove absent.
func (r *attempt) verify(ctx context.Context, add string, remove []string) *task.Failure {
	got, f := r.readKeys(ctx)
	if f != nil {
		return f
	}
	if add != "" && !holdsKey(got.content, add) {
		return task.Failf(task.FailRemote, "authorized_keys changed under keyhaven: the new key is not in it after the rewrite")
	}
	for _, k := range remove {
		if k != add && holdsKey(got.content, k) {
			return task.Failf(task.FailRemote, "authorized_keys changed under keyhaven: a removed key is back after the rewrite")
		}
	}
	return nil
}
