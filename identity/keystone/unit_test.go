package keystone

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/identity"
)

// These tests use a small stand-in for Keystone where real Keystone cannot
// be steered (clock, expiry, failures); keystone_test.go uses the real one.

// clock is a settable time source for Config.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now()} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fakeKeystone issues the service token "svc" and validates the tokens in
// valid, each expiring at its time.
type fakeKeystone struct {
	*httptest.Server
	mu        sync.Mutex
	valid     map[string]time.Time
	validates atomic.Int64
	issued    atomic.Int64  // service token requests
	refuse    atomic.Bool   // when set, service token requests get 401
	status    int           // when not 0, every validation answers it
	gate      chan struct{} // when not nil, validations wait for it
}

// newFake starts a fakeKeystone; extra, if given, answers the requests it
// returns true for.
func newFake(t *testing.T, extra ...func(http.ResponseWriter, *http.Request) bool) *fakeKeystone {
	f := &fakeKeystone{valid: map[string]time.Time{}}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, h := range extra {
			if h(w, r) {
				return
			}
		}
		f.serve(w, r)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeKeystone) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/v3/auth/tokens" {
		http.NotFound(w, r)
		return
	}
	if r.Method == http.MethodPost {
		f.issued.Add(1)
		if f.refuse.Load() {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("X-Subject-Token", "svc")
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"token":{"expires_at":%q}}`, time.Now().Add(time.Hour).Format(time.RFC3339))
		return
	}
	f.validates.Add(1)
	if f.gate != nil {
		<-f.gate
	}
	if r.Header.Get("X-Auth-Token") != "svc" {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	f.mu.Lock()
	exp, ok := f.valid[r.Header.Get("X-Subject-Token")]
	status := f.status
	f.mu.Unlock()
	switch {
	case status != 0:
		w.WriteHeader(status)
		fmt.Fprint(w, `{"error":{"code":503,"message":"try later","title":"Service Unavailable"}}`)
	case !ok:
		w.WriteHeader(http.StatusNotFound)
	default:
		fmt.Fprintf(w, `{"token":{"expires_at":%q,"user":{"id":"u1","domain":{"id":"d1"}},`+
			`"project":{"id":"p1","domain":{"id":"d1"}},"roles":[{"name":"member"},{"name":"reader"}]}}`,
			exp.Format(time.RFC3339Nano))
	}
}

func (f *fakeKeystone) client(t *testing.T, cfg Config) *Client {
	t.Helper()
	cfg.URL, cfg.Username, cfg.Password, cfg.Project = f.URL+"/v3", "svc", "svc-password", "service"
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func authenticate(c *Client, token string) (identity.Principal, error) {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	if token != "" {
		r.Header.Set(Header, token)
	}
	return c.Authenticate(context.Background(), r)
}

func TestClientCacheRespectsMaxEntries(t *testing.T) {
	f := newFake(t)
	for i := range 20 {
		f.valid[fmt.Sprint("tok-", i)] = time.Now().Add(time.Hour)
	}
	c := f.client(t, Config{MaxCacheEntries: 5})
	for i := range 20 {
		if _, err := authenticate(c, fmt.Sprint("tok-", i)); err != nil {
			t.Fatal(err)
		}
		if _, err := authenticate(c, fmt.Sprint("bad-", i)); !errors.Is(err, identity.ErrUnauthenticated) {
			t.Fatalf("bad token: %v", err)
		}
	}
	if n, m := c.tokens.len(), c.badTokens.len(); n > 5 || m > 5 {
		t.Errorf("caches hold %d and %d entries, MaxCacheEntries is 5", n, m)
	}
}

func TestCachedTokenNeverOutlivesExpiresAt(t *testing.T) {
	f := newFake(t)
	clk := newClock()
	f.valid["tok"] = clk.Now().Add(2 * time.Second)
	c := f.client(t, Config{CacheTTL: time.Hour, Now: clk.Now})
	for range 3 {
		if _, err := authenticate(c, "tok"); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.validates.Load(); n != 1 {
		t.Fatalf("%d validations, want 1 (then cached)", n)
	}
	clk.Add(3 * time.Second) // past expires_at, well within CacheTTL
	f.mu.Lock()
	delete(f.valid, "tok")
	f.mu.Unlock()
	if _, err := authenticate(c, "tok"); !errors.Is(err, identity.ErrUnauthenticated) {
		t.Fatalf("token past its expires_at: %v, want Unauthenticated", err)
	}
	if n := f.validates.Load(); n != 2 {
		t.Errorf("%d validations, want 2 (the cache entry ended at expires_at)", n)
	}
}

func TestNegativeCacheIsBrief(t *testing.T) {
	f := newFake(t)
	clk := newClock()
	c := f.client(t, Config{Now: clk.Now})
	for range 5 {
		if _, err := authenticate(c, "nope"); !errors.Is(err, identity.ErrUnauthenticated) {
			t.Fatal(err)
		}
	}
	if n := f.validates.Load(); n != 1 {
		t.Fatalf("%d validations of one bad token, want 1", n)
	}
	clk.Add(NegativeCacheTTL + time.Second)
	authenticate(c, "nope")
	if n := f.validates.Load(); n != 2 {
		t.Errorf("%d validations, want 2 (refusal forgotten after NegativeCacheTTL)", n)
	}
}

func TestConcurrentValidationsShareOneRequest(t *testing.T) {
	f := newFake(t)
	f.valid["tok"] = time.Now().Add(time.Hour)
	f.gate = make(chan struct{})
	c := f.client(t, Config{})
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			_, err := authenticate(c, "tok")
			errs <- err
		})
	}
	// Let the one validation through once every caller is waiting on it.
	for f.validates.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	close(f.gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := f.validates.Load(); n != 1 {
		t.Errorf("%d validations for 8 concurrent callers, want 1", n)
	}
}

func TestKeystoneFailureIsNotUnauthenticated(t *testing.T) {
	f := newFake(t)
	f.status = http.StatusServiceUnavailable
	c := f.client(t, Config{})
	_, err := authenticate(c, "tok-secret-value")
	if !errors.Is(err, ErrUnavailable) || errors.Is(err, identity.ErrUnauthenticated) {
		t.Fatalf("Keystone 503: %v, want ErrUnavailable and not Unauthenticated", err)
	}
	var ke *Error
	if !errors.As(err, &ke) || ke.Status != http.StatusServiceUnavailable || ke.Message != "try later" {
		t.Errorf("error %#v lacks status 503 and Keystone's message", err)
	}
	if strings.Contains(err.Error(), "tok-secret-value") {
		t.Errorf("error %q shows the token", err)
	}
	// Failures are not cached: once Keystone is back, the token works.
	f.mu.Lock()
	f.status = 0
	f.valid["tok-secret-value"] = time.Now().Add(time.Hour)
	f.mu.Unlock()
	p, err := authenticate(c, "tok-secret-value")
	if err != nil || p.UserID != "u1" || p.ProjectID != "p1" || p.DomainID != "d1" {
		t.Fatalf("after recovery: %+v, %v", p, err)
	}
	p.Roles[0] = "admin" // callers cannot change the cached principal
	if p, _ := authenticate(c, "tok-secret-value"); p.IsAdmin() {
		t.Error("changing a returned principal changed the cached one")
	}
}

func TestResponseShapes(t *testing.T) {
	// Project-, system-, domain-scoped and unscoped token documents.
	tests := []struct {
		name        string
		body        string
		wantProject string
		wantRoles   string
	}{
		{"project", `"project":{"id":"p","domain":{"id":"pd"}},"roles":[{"name":"reader"},{"name":"admin"}]`, "p", "admin,reader"},
		{"system", `"system":{"all":true},"roles":[{"name":"admin"}]`, "", "admin"},
		{"domain", `"domain":{"id":"d","name":"D"},"roles":[{"name":"admin"}]`, "", ""},
		{"unscoped", `"roles":[]`, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodPost {
					w.Header().Set("X-Subject-Token", "svc")
					w.WriteHeader(http.StatusCreated)
					fmt.Fprintf(w, `{"token":{"expires_at":%q}}`, time.Now().Add(time.Hour).Format(time.RFC3339))
					return
				}
				fmt.Fprintf(w, `{"token":{"expires_at":%q,"user":{"id":"u","domain":{"id":"ud"}},%s}}`,
					time.Now().Add(time.Hour).Format(time.RFC3339), tt.body)
			}))
			defer srv.Close()
			c, err := New(Config{URL: srv.URL + "/v3", Username: "s", Password: "p", Project: "x"})
			if err != nil {
				t.Fatal(err)
			}
			p, err := authenticate(c, "t")
			if err != nil {
				t.Fatal(err)
			}
			if p.UserID != "u" || p.DomainID != "ud" || p.ProjectID != tt.wantProject || strings.Join(p.Roles, ",") != tt.wantRoles {
				t.Errorf("principal %+v, want project %q roles %q", p, tt.wantProject, tt.wantRoles)
			}
		})
	}
}

func TestMalformedAnswerIsUnavailable(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			w.Header().Set("X-Subject-Token", "svc")
			w.WriteHeader(http.StatusCreated)
			json.NewEncoder(w).Encode(map[string]any{"token": map[string]any{"expires_at": time.Now().Add(time.Hour)}})
			return
		}
		fmt.Fprint(w, `{"token": {"user": {}}}`)
	}))
	defer srv.Close()
	c, _ := New(Config{URL: srv.URL + "/v3", Username: "s", Password: "p", Project: "x"})
	if _, err := authenticate(c, "t"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("token document without user: %v, want ErrUnavailable", err)
	}
}

func TestServiceTokenRenewedBeforeExpiry(t *testing.T) {
	f := newFake(t)
	clk := newClock()
	for i := range 3 {
		f.valid[fmt.Sprint("tok-", i)] = clk.Now().Add(2 * time.Hour)
	}
	c := f.client(t, Config{Now: clk.Now})
	authenticate(c, "tok-0")
	clk.Add(50 * time.Minute) // the service token has 10 minutes left
	authenticate(c, "tok-1")
	if n := f.issued.Load(); n != 1 {
		t.Fatalf("%d service tokens issued, want 1", n)
	}
	clk.Add(6 * time.Minute) // 4 minutes left: renew
	if _, err := authenticate(c, "tok-2"); err != nil {
		t.Fatal(err)
	}
	if n := f.issued.Load(); n != 2 {
		t.Errorf("%d service tokens issued, want 2 (renewed 5 minutes before expiry)", n)
	}
}

func TestDelegatedEC2CredentialRefused(t *testing.T) {
	tests := []struct{ name, blob string }{
		{"trust", `{"access":"AK","secret":"SK","trust_id":"t1"}`},
		{"application credential", `{"access":"AK","secret":"SK","trust_id":null,"app_cred_id":"a1"}`},
		{"oauth", `{"access":"AK","secret":"SK","trust_id":null,"access_token_id":"o1"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, func(w http.ResponseWriter, r *http.Request) bool {
				if !strings.HasPrefix(r.URL.Path, "/v3/credentials/") {
					return false
				}
				json.NewEncoder(w).Encode(map[string]any{"credential": map[string]any{
					"user_id": "u", "project_id": "p", "type": "ec2", "blob": tt.blob}})
				return true
			})
			c := f.client(t, Config{})
			_, _, err := c.LookupSecret(context.Background(), "AK")
			if !errors.Is(err, identity.ErrUnauthenticated) || !strings.Contains(identity.Reason(err), "delegated") {
				t.Fatalf("LookupSecret: %v, want a refusal of the delegated credential", err)
			}
		})
	}
}

func TestFailedRenewalKeepsCurrentServiceToken(t *testing.T) {
	f := newFake(t)
	clk := newClock()
	for i := range 4 {
		f.valid[fmt.Sprint("tok-", i)] = clk.Now().Add(2 * time.Hour)
	}
	c := f.client(t, Config{Now: clk.Now})
	authenticate(c, "tok-0")
	f.refuse.Store(true)
	clk.Add(56 * time.Minute) // renewal due, the current token still valid
	for i := 1; i <= 2; i++ {
		if _, err := authenticate(c, fmt.Sprint("tok-", i)); err != nil {
			t.Fatalf("while the current service token is valid: %v", err)
		}
	}
	if n := f.issued.Load(); n != 2 {
		t.Errorf("%d service token requests, want 2 (refusal remembered for a while)", n)
	}
	clk.Add(5 * time.Minute) // the service token has expired
	if _, err := authenticate(c, "tok-3"); !errors.Is(err, ErrUnavailable) || errors.Is(err, identity.ErrUnauthenticated) {
		t.Errorf("without a service token: %v, want ErrUnavailable", err)
	}
}
