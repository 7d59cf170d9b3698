package storetest

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/identity"
)

// RunSignatureLedger runs the identity.SignatureLedger contract suite.
// Each subtest calls open once and must get two handles on one new, empty
// database, as two keyhaven instances sharing it have; handles with a
// Close() error method are closed as the subtest ends.
func RunSignatureLedger(t *testing.T, open func(t *testing.T) (a, b identity.SignatureLedger)) {
	tests := []struct {
		name string
		fn   func(t *testing.T, a, b identity.SignatureLedger)
	}{
		{"RecordOnce", testSignatureSteps},
		{"Prune", testSignaturePrune},
		{"Concurrent", testSignatureConcurrent},
		{"Errors", testSignatureErrors},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, b := open(t)
			for _, l := range []identity.SignatureLedger{a, b} {
				if c, ok := l.(io.Closer); ok {
					t.Cleanup(func() {
						if err := c.Close(); err != nil {
							t.Errorf("Close: %v", err)
						}
					})
				}
			}
			tc.fn(t, a, b)
		})
	}
}

// sigT0 is the signing time of the suite's signatures.
var sigT0 = time.Date(2024, 2, 29, 12, 0, 0, 0, time.UTC)

func testSignatureSteps(t *testing.T, a, b identity.SignatureLedger) {
	window := 15 * time.Minute
	steps := []struct {
		what     string
		on       identity.SignatureLedger
		sig      string
		expires  time.Time
		now      time.Time
		wantSeen bool // false: recorded now
	}{
		{"first sight", a, "s1", sigT0.Add(window), sigT0, false},
		{"again on the same handle", a, "s1", sigT0.Add(window), sigT0.Add(time.Second), true},
		{"again on the other handle", b, "s1", sigT0.Add(window), sigT0.Add(time.Minute), true},
		{"as its window closes", b, "s1", sigT0.Add(window), sigT0.Add(window), true},
		{"a later expiry does not renew it", a, "s1", sigT0.Add(2 * window), sigT0.Add(window), true},
		{"another signature", b, "s2", sigT0.Add(window), sigT0.Add(time.Minute), false},
		{"after its window closed", a, "s1", sigT0.Add(3 * window), sigT0.Add(window + time.Microsecond), false},
		{"again in its new window", b, "s1", sigT0.Add(3 * window), sigT0.Add(2 * window), true},
		{"signatures are case-sensitive", a, "S2", sigT0.Add(window), sigT0, false},
	}
	ctx := t.Context()
	for _, st := range steps {
		fresh, err := st.on.RecordSignature(ctx, st.sig, st.expires, st.now)
		if err != nil || fresh == st.wantSeen {
			t.Fatalf("%s: RecordSignature(%s, %s, %s) = %v, %v; want %v", st.what, st.sig,
				st.expires.Format(time.RFC3339Nano), st.now.Format(time.RFC3339Nano), fresh, err, !st.wantSeen)
		}
	}
}

func testSignaturePrune(t *testing.T, a, b identity.SignatureLedger) {
	ctx := t.Context()
	for i, sig := range []string{"p1", "p2", "p3"} {
		if fresh, err := a.RecordSignature(ctx, sig, sigT0.Add(time.Duration(i+1)*time.Minute), sigT0); err != nil || !fresh {
			t.Fatalf("record %s: %v, %v", sig, fresh, err)
		}
	}
	// p1 expired before now, p2 expires at now, p3 later.
	if err := b.PruneSignatures(ctx, sigT0.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	// Asked as at sigT0, a remembered signature is seen and a forgotten one
	// is not: only p1 is gone.
	for sig, wantFresh := range map[string]bool{"p1": true, "p2": false, "p3": false} {
		fresh, err := a.RecordSignature(ctx, sig, sigT0.Add(time.Hour), sigT0)
		if err != nil || fresh != wantFresh {
			t.Errorf("after prune, RecordSignature(%s) = %v, %v; want %v", sig, fresh, err, wantFresh)
		}
	}
	if err := a.PruneSignatures(ctx, sigT0); err != nil {
		t.Errorf("prune with nothing expired: %v", err)
	}
}

func testSignatureConcurrent(t *testing.T, a, b identity.SignatureLedger) {
	ctx := t.Context()
	for round := range 5 {
		sig := fmt.Sprintf("race-%d", round)
		var fresh atomic.Int32
		var wg sync.WaitGroup
		for i := range 16 {
			l := a
			if i%2 == 1 {
				l = b
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, err := l.RecordSignature(ctx, sig, sigT0.Add(time.Hour), sigT0)
				if err != nil {
					t.Error(err)
				}
				if ok {
					fresh.Add(1)
				}
			}()
		}
		wg.Wait()
		if n := fresh.Load(); n != 1 {
			t.Fatalf("16 concurrent records of %s on two handles: %d reported new, want 1", sig, n)
		}
	}
}

func testSignatureErrors(t *testing.T, a, _ identity.SignatureLedger) {
	if _, err := a.RecordSignature(t.Context(), "", sigT0.Add(time.Hour), sigT0); err == nil {
		t.Error("an empty signature was recorded")
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if ok, err := a.RecordSignature(ctx, "c1", sigT0.Add(time.Hour), sigT0); err == nil {
		t.Errorf("cancelled context: %v, nil error", ok)
	}
	if err := a.PruneSignatures(ctx, sigT0); err == nil {
		t.Error("prune with a cancelled context: nil error")
	}
}
