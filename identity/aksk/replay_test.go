package aksk_test

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/signer"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/request"

	"github.com/keyhaven/keyhaven/identity"
	"github.com/keyhaven/keyhaven/identity/aksk"
	"github.com/keyhaven/keyhaven/store/sqlite"
)

// signDate is when the requests of these tests are signed; verifiers see
// a clock one minute later.
var signDate = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)

func atSignDate(d time.Duration) func() time.Time {
	return func() time.Time { return signDate.Add(d) }
}

// signed is a request signed by the real SDK signer at date, as a function
// that makes a fresh copy (body included) each time it is sent.
func signed(t testing.TB, method, path, contentType, body string, date time.Time) func() *http.Request {
	t.Helper()
	b := request.NewHttpRequestBuilder().WithEndpoint("https://kps.example.com").WithMethod(method).
		WithPath(path).AddHeaderParam("Content-Type", contentType).
		AddHeaderParam(aksk.HeaderDate, date.Format(aksk.DateFormat))
	if body != "" {
		b = b.WithBody("", body)
	}
	r := b.Build()
	hdrs, err := signer.Sign(r, testAK, testSK)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdrs {
		r.AddHeaderParam(k, v)
	}
	hr, err := r.ConvertRequest()
	if err != nil {
		t.Fatal(err)
	}
	return func() *http.Request {
		c := hr.Clone(context.Background())
		c.Body, c.ContentLength = io.NopCloser(strings.NewReader(body)), int64(len(body))
		if body == "" {
			c.Body = http.NoBody
		}
		return c
	}
}

// openLedgers opens n SQLite stores on one new file: n instances sharing a
// database.
func openLedgers(t *testing.T, n int) []*sqlite.Store {
	t.Helper()
	path := filepath.Join(t.TempDir(), "keyhaven.db")
	var out []*sqlite.Store
	for range n {
		s, err := sqlite.Open(t.Context(), path, sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		out = append(out, s)
	}
	return out
}

const replayed = "this signed request was already received"

// TestReplayRefused sends each signed request twice (or the second one
// given) and checks which of the second sendings are refused as replays.
func TestReplayRefused(t *testing.T) {
	post := signed(t, "POST", pp+"/keypairs", "application/json", `{"keypair":{"name":"r"}}`, signDate)
	postLater := signed(t, "POST", pp+"/keypairs", "application/json", `{"keypair":{"name":"r"}}`, signDate.Add(time.Second))
	del := signed(t, "DELETE", pp+"/keypairs/r", "application/json", "", signDate)
	get := signed(t, "GET", pp+"/keypairs/r", "application/json", "", signDate)
	head := signed(t, "HEAD", pp+"/keypairs/r", "application/json", "", signDate)
	put := signed(t, "PUT", pp+"/keypairs/r", "application/json", `{"keypair":{"description":"d"}}`, signDate)
	cases := []struct {
		name          string
		first, second func() *http.Request
		shared        bool          // the second goes to another verifier on the same database
		cacheSize     int           // of each verifier
		later         time.Duration // how long after the first the second is sent
		reason        string        // a prefix of the second's refusal; "" for accepted
	}{
		{name: "POST replayed", first: post, second: post, reason: replayed},
		{name: "DELETE replayed", first: del, second: del, reason: replayed},
		{name: "PUT replayed", first: put, second: put, reason: replayed},
		{name: "POST replayed 14 minutes later", first: post, second: post, later: 14 * time.Minute, reason: replayed},
		{name: "POST replayed after the window", first: post, second: post, later: 15 * time.Minute,
			reason: "request date is more than 15m0s away"},
		{name: "POST re-signed a second later", first: post, second: postLater},
		{name: "GET repeated", first: get, second: get},
		{name: "HEAD repeated", first: head, second: head},
		{name: "POST replayed to another instance", first: post, second: post, shared: true, reason: replayed},
		{name: "DELETE replayed to another instance", first: del, second: del, shared: true, reason: replayed},
		{name: "GET repeated on another instance", first: get, second: get, shared: true},
		{name: "POST replayed after the memory forgot it", first: post, second: post, cacheSize: 1, reason: replayed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			stores := openLedgers(t, 2)
			var now atomic.Int64
			now.Store(int64(time.Minute))
			clock := func() time.Time { return signDate.Add(time.Duration(now.Load())) }
			v1 := aksk.New(aksk.Config{Secrets: secrets, Now: clock, Ledger: stores[0], ReplayCacheSize: c.cacheSize})
			v2 := v1
			if c.shared {
				v2 = aksk.New(aksk.Config{Secrets: secrets, Now: clock, Ledger: stores[1], ReplayCacheSize: c.cacheSize})
			}
			if _, err := v1.Authenticate(t.Context(), c.first()); err != nil {
				t.Fatalf("first: %v", err)
			}
			if c.cacheSize == 1 {
				// Push the first out of memory with another signature.
				other := signed(t, "POST", pp+"/keypairs", "application/json", `{}`, signDate)
				if _, err := v1.Authenticate(t.Context(), other()); err != nil {
					t.Fatalf("other: %v", err)
				}
			}
			now.Add(int64(c.later))
			r := c.second()
			p, err := v2.Authenticate(t.Context(), r)
			if c.reason == "" {
				if err != nil || p.UserID != testPrincipal.UserID {
					t.Fatalf("second: %+v, %v; want accepted", p, err)
				}
				return
			}
			if !errors.Is(err, identity.ErrUnauthenticated) || !strings.HasPrefix(identity.Reason(err), c.reason) {
				t.Fatalf("second: %v; want a refusal starting %q", err, c.reason)
			}
			// A replay is marked as one, for KPS's code of its own.
			if errors.Is(err, identity.ErrReplayed) != (c.reason == replayed) {
				t.Fatalf("second: %v; ErrReplayed %v", err, errors.Is(err, identity.ErrReplayed))
			}
		})
	}
}

// TestReplayWithoutLedger checks that memory alone refuses replays on one
// instance.
func TestReplayWithoutLedger(t *testing.T) {
	v := aksk.New(aksk.Config{Secrets: secrets, Now: atSignDate(time.Minute)})
	post := signed(t, "POST", pp+"/keypairs", "application/json", `{"keypair":{"name":"m"}}`, signDate)
	if _, err := v.Authenticate(t.Context(), post()); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Authenticate(t.Context(), post()); !strings.HasPrefix(identity.Reason(err), replayed) {
		t.Fatalf("replay: %v", err)
	}
}

// TestConcurrentReplays sends one signed request 20 times at once to two
// verifiers on one database: exactly one is accepted.
func TestConcurrentReplays(t *testing.T) {
	stores := openLedgers(t, 2)
	vs := []*aksk.Verifier{
		aksk.New(aksk.Config{Secrets: secrets, Now: atSignDate(time.Minute), Ledger: stores[0]}),
		aksk.New(aksk.Config{Secrets: secrets, Now: atSignDate(time.Minute), Ledger: stores[1]}),
	}
	post := signed(t, "POST", pp+"/keypairs", "application/json", `{"keypair":{"name":"c"}}`, signDate)
	var ok, refused atomic.Int32
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := vs[i%2].Authenticate(context.Background(), post())
			switch {
			case err == nil:
				ok.Add(1)
			case strings.HasPrefix(identity.Reason(err), replayed):
				refused.Add(1)
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 1 || refused.Load() != 19 {
		t.Fatalf("%d accepted, %d refused as replays; want 1 and 19", ok.Load(), refused.Load())
	}
}

// TestLedgerFailure: a ledger that cannot record is a server error, never a
// request let through unchecked, and the failed request's retry is not
// taken for its replay.
func TestLedgerFailure(t *testing.T) {
	stores := openLedgers(t, 1)
	stores[0].Close()
	v := aksk.New(aksk.Config{Secrets: secrets, Now: atSignDate(time.Minute), Ledger: stores[0]})
	post := signed(t, "POST", pp+"/keypairs", "application/json", `{"keypair":{"name":"f"}}`, signDate)
	for i := range 2 {
		_, err := v.Authenticate(t.Context(), post())
		if err == nil || errors.Is(err, identity.ErrUnauthenticated) {
			t.Fatalf("attempt %d with a closed ledger: %v; want a server error", i+1, err)
		}
	}
}

// BenchmarkVerifyPOST verifies SDK-signed POSTs, each with a signature of
// its own, with memory alone and with a SQLite ledger (a durable write per
// request): what remembering signatures costs.
func BenchmarkVerifyPOST(b *testing.B) {
	for _, withLedger := range []bool{false, true} {
		name := "memory"
		if withLedger {
			name = "sqlite-ledger"
		}
		b.Run(name, func(b *testing.B) {
			cfg := aksk.Config{Secrets: secrets, Now: atSignDate(time.Minute)}
			if withLedger {
				s, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "k.db"), sqlite.Options{})
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				cfg.Ledger = s
			}
			v := aksk.New(cfg)
			reqs := make([]func() *http.Request, b.N)
			for i := range reqs {
				reqs[i] = signed(b, "POST", pp+"/keypairs", "application/json", fmt.Sprintf(`{"keypair":{"name":"b%d"}}`, i), signDate)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := v.Authenticate(b.Context(), reqs[i]()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestLedgerPruned checks that accepting requests also forgets, in the
// ledger, the signatures whose window has closed.
func TestLedgerPruned(t *testing.T) {
	stores := openLedgers(t, 1)
	var now atomic.Int64
	now.Store(int64(time.Minute))
	v := aksk.New(aksk.Config{Secrets: secrets, Ledger: stores[0],
		Now: func() time.Time { return signDate.Add(time.Duration(now.Load())) }})
	first := signed(t, "POST", pp+"/keypairs", "application/json", `{"keypair":{"name":"p1"}}`, signDate)()
	a, err := aksk.ParseAuthorization(first.Header.Get("Authorization"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Authenticate(t.Context(), first); err != nil {
		t.Fatal(err)
	}
	// 20 minutes on, another request: the first one's window has closed.
	now.Store(int64(21 * time.Minute))
	later := signed(t, "POST", pp+"/keypairs", "application/json", `{"keypair":{"name":"p2"}}`, signDate.Add(20*time.Minute))
	if _, err := v.Authenticate(t.Context(), later()); err != nil {
		t.Fatal(err)
	}
	// Asked as at the first request's time, the ledger no longer has it.
	fresh, err := stores[0].RecordSignature(t.Context(), hex.EncodeToString(a.Signature), signDate.Add(15*time.Minute), signDate.Add(2*time.Minute))
	if err != nil || !fresh {
		t.Fatalf("the expired signature is still in the ledger: %v, %v", fresh, err)
	}
}
