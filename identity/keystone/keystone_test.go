package keystone

import (
	"context"
	"errors"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/identity"
	"github.com/keyhaven/keyhaven/internal/keystonetest"
)

// These tests run against a real Keystone (internal/keystonetest).

// fixture is what the tests share in the shared Keystone: keyhaven's service
// account (admin on its project) and a user with role member on a project.
type fixture struct {
	ks                             *keystonetest.Keystone
	svcUser, svcPassword, svcProj  string
	user, password, project        string
	userID, projectID, adminProjID string
}

var (
	fixMu sync.Mutex
	fix   *fixture
)

func setup(t *testing.T) *fixture {
	t.Helper()
	ks := keystonetest.Start(t)
	fixMu.Lock()
	defer fixMu.Unlock()
	if fix == nil {
		f := &fixture{ks: ks}
		f.svcUser, f.svcPassword, f.svcProj = keystonetest.UniqueName("keyhaven"), "svc-pass-0123", keystonetest.UniqueName("service")
		ks.CreateUser(t, f.svcUser, f.svcPassword, f.svcProj, "admin")
		f.user, f.password, f.project = keystonetest.UniqueName("alice"), "alice-pass-0123", keystonetest.UniqueName("proj")
		f.userID = ks.CreateUser(t, f.user, f.password, f.project, "member")
		f.projectID = ks.ProjectID(t, f.project)
		f.adminProjID = ks.ProjectID(t, ks.AdminProject)
		fix = f
	}
	return fix
}

// counter counts the requests a Client sends, by "METHOD /path", and keeps
// the last X-Auth-Token it saw.
type counter struct {
	base     http.RoundTripper
	mu       sync.Mutex
	reqs     []string
	lastAuth string
}

func (c *counter) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.reqs = append(c.reqs, r.Method+" "+r.URL.Path)
	if a := r.Header.Get("X-Auth-Token"); a != "" {
		c.lastAuth = a
	}
	c.mu.Unlock()
	return c.base.RoundTrip(r)
}

func (c *counter) total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.reqs)
}

func (c *counter) count(req string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, r := range c.reqs {
		if r == req {
			n++
		}
	}
	return n
}

// client returns a Client that authenticates as the fixture's service
// account, after edit has changed its config, and its request counter.
func (f *fixture) client(t *testing.T, edit func(*Config)) (*Client, *counter) {
	t.Helper()
	cnt := &counter{base: http.DefaultTransport}
	cfg := Config{
		URL: f.ks.URL, Username: f.svcUser, Password: f.svcPassword, Project: f.svcProj, Domain: f.ks.Domain,
		HTTPClient: &http.Client{Transport: cnt, Timeout: 30 * time.Second},
	}
	if edit != nil {
		edit(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c, cnt
}

func TestAuthenticateKeystoneTokens(t *testing.T) {
	f := setup(t)
	ks := f.ks
	unscopedUser := keystonetest.UniqueName("bob")
	unscopedID := ks.CreateUser(t, unscopedUser, "bob-pass", "", "")
	tests := []struct {
		name        string
		token       string
		wantUser    string // "": any
		wantProject string
		wantRoles   []string // must all be there
		wantAdmin   bool
	}{
		{"member", ks.IssueToken(t, f.user, f.password, f.project), f.userID, f.projectID, []string{"member", "reader"}, false},
		{"admin", ks.AdminToken(t), "", f.adminProjID, []string{"admin", "member"}, true},
		{"unscoped", ks.IssueToken(t, unscopedUser, "bob-pass", ""), unscopedID, "", nil, false},
	}
	c, _ := f.client(t, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := authenticate(c, tt.token)
			if err != nil {
				t.Fatalf("Authenticate: %v", err)
			}
			if tt.wantUser != "" && p.UserID != tt.wantUser || p.UserID == "" {
				t.Errorf("UserID = %q, want %q", p.UserID, tt.wantUser)
			}
			if p.ProjectID != tt.wantProject {
				t.Errorf("ProjectID = %q, want %q", p.ProjectID, tt.wantProject)
			}
			if p.DomainID != "default" {
				t.Errorf("DomainID = %q, want default", p.DomainID)
			}
			for _, r := range tt.wantRoles {
				if !slices.Contains(p.Roles, r) {
					t.Errorf("Roles = %v, want %q among them", p.Roles, r)
				}
			}
			if tt.wantRoles == nil && len(p.Roles) != 0 {
				t.Errorf("Roles = %v, want none", p.Roles)
			}
			if p.IsAdmin() != tt.wantAdmin {
				t.Errorf("IsAdmin() = %v, want %v (roles %v)", p.IsAdmin(), tt.wantAdmin, p.Roles)
			}
		})
	}
}

func TestAuthenticateRefusesBadTokens(t *testing.T) {
	f := setup(t)
	ks := f.ks
	good := ks.IssueToken(t, f.user, f.password, f.project)
	revoked := ks.IssueToken(t, f.user, f.password, f.project)
	ks.RevokeToken(t, ks.AdminToken(t), revoked)
	tampered := good[:len(good)-8] + "AAAAAAAA"
	if tampered == good {
		tampered = good[:len(good)-8] + "BBBBBBBB"
	}
	tests := []struct{ name, token string }{
		{"missing", ""},
		{"garbage", "garbage-token"},
		{"tampered", tampered},
		{"revoked", revoked},
		{"overlong", strings.Repeat("x", maxTokenLen+1)},
	}
	c, _ := f.client(t, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := authenticate(c, tt.token)
			if !errors.Is(err, identity.ErrUnauthenticated) || errors.Is(err, ErrUnavailable) {
				t.Fatalf("Authenticate: %v, want Unauthenticated", err)
			}
			if tt.token != "" && strings.Contains(err.Error(), tt.token) {
				t.Errorf("error %q shows the token", err)
			}
		})
	}
}

func TestRevokedTokenStopsWorkingWithinCacheTTL(t *testing.T) {
	f := setup(t)
	tok := f.ks.IssueToken(t, f.user, f.password, f.project)
	c, _ := f.client(t, func(c *Config) { c.CacheTTL = time.Second })
	if _, err := authenticate(c, tok); err != nil {
		t.Fatalf("before revocation: %v", err)
	}
	f.ks.RevokeToken(t, f.ks.AdminToken(t), tok)
	const tries = 40 // 10 s at most, for a 1 s CacheTTL
	for i := range tries {
		_, err := authenticate(c, tok)
		if errors.Is(err, identity.ErrUnauthenticated) {
			t.Logf("refused after %d tries", i+1)
			return
		}
		if err != nil {
			t.Fatalf("try %d: %v", i+1, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("revoked token still authenticates after %d tries", tries)
}

func TestValidationIsCached(t *testing.T) {
	f := setup(t)
	tok := f.ks.IssueToken(t, f.user, f.password, f.project)
	other := f.ks.IssueToken(t, f.user, f.password, f.project)
	c, cnt := f.client(t, nil)
	if _, err := authenticate(c, tok); err != nil {
		t.Fatal(err)
	}
	if n := cnt.count("GET /v3/auth/tokens"); n != 1 {
		t.Fatalf("%d validations, want 1", n)
	}
	before := cnt.total()
	for range 3 {
		if _, err := authenticate(c, tok); err != nil {
			t.Fatal(err)
		}
	}
	if n := cnt.total() - before; n != 0 {
		t.Errorf("validating a cached token again sent %d requests, want 0", n)
	}
	if _, err := authenticate(c, other); err != nil {
		t.Fatal(err)
	}
	if v, s := cnt.count("GET /v3/auth/tokens"), cnt.count("POST /v3/auth/tokens"); v != 2 || s != 1 {
		t.Errorf("%d validations and %d service token requests, want 2 and 1", v, s)
	}
}

func TestServiceTokenObtainedAgainOn401(t *testing.T) {
	f := setup(t)
	var skew atomic.Int64 // the client's clock runs ahead by this much
	c, cnt := f.client(t, func(c *Config) {
		c.Now = func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	})
	if _, err := authenticate(c, f.ks.IssueToken(t, f.user, f.password, f.project)); err != nil {
		t.Fatal(err)
	}
	cnt.mu.Lock()
	svc := cnt.lastAuth
	cnt.mu.Unlock()
	f.ks.RevokeToken(t, f.ks.AdminToken(t), svc)
	skew.Store(int64(time.Minute)) // the service token is no longer brand new

	p, err := authenticate(c, f.ks.IssueToken(t, f.user, f.password, f.project))
	if err != nil || p.UserID != f.userID {
		t.Fatalf("after the service token was revoked: %+v, %v", p, err)
	}
	if n := cnt.count("POST /v3/auth/tokens"); n != 2 {
		t.Errorf("%d service token requests, want 2", n)
	}
}

func TestWrongServicePasswordIsUnavailable(t *testing.T) {
	f := setup(t)
	const wrong = "not-the-password-4711"
	c, cnt := f.client(t, func(c *Config) { c.Password = wrong })
	tok := f.ks.IssueToken(t, f.user, f.password, f.project)
	for range 3 {
		_, err := authenticate(c, tok)
		if !errors.Is(err, ErrUnavailable) || errors.Is(err, identity.ErrUnauthenticated) {
			t.Fatalf("Authenticate: %v, want ErrUnavailable and not Unauthenticated", err)
		}
		if msg := err.Error(); strings.Contains(msg, wrong) || strings.Contains(msg, tok) || !strings.Contains(msg, "service account") {
			t.Fatalf("error %q: want it to blame the service account and show no password or token", msg)
		}
	}
	if n := cnt.count("POST /v3/auth/tokens"); n != 1 {
		t.Errorf("%d password authentications for 3 requests, want 1 (refusal remembered)", n)
	}
}

func TestLookupSecret(t *testing.T) {
	f := setup(t)
	access, secret := f.ks.CreateEC2(t, f.userID, f.projectID)
	c, cnt := f.client(t, nil)
	for i := range 2 {
		before := cnt.total()
		got, p, err := c.LookupSecret(context.Background(), access)
		if err != nil {
			t.Fatalf("LookupSecret: %v", err)
		}
		if got != secret {
			t.Errorf("secret does not match the one Keystone created")
		}
		if p.UserID != f.userID || p.ProjectID != f.projectID || p.DomainID != "default" ||
			!slices.Contains(p.Roles, "member") || p.IsAdmin() {
			t.Errorf("principal %+v, want user %s project %s domain default with role member", p, f.userID, f.projectID)
		}
		if sent := cnt.total() - before; i == 1 && sent != 0 {
			t.Errorf("second lookup sent %d requests, want 0 (cached)", sent)
		}
	}
}

func TestLookupSecretRefused(t *testing.T) {
	f := setup(t)
	ks := f.ks
	deleted, _ := ks.CreateEC2(t, f.userID, f.projectID)
	ks.DeleteEC2(t, f.userID, deleted)

	carol := keystonetest.UniqueName("carol")
	carolID := ks.CreateUser(t, carol, "carol-pass", f.project, "member")
	disabled, _ := ks.CreateEC2(t, carolID, f.projectID)
	ks.SetUserEnabled(t, carolID, false)

	dave := keystonetest.UniqueName("dave") // no role on the credential's project
	daveID := ks.CreateUser(t, dave, "dave-pass", "", "")
	noRole, _ := ks.CreateEC2(t, daveID, f.projectID)

	tests := []struct {
		name, access string
		unknown      bool   // want identity.ErrUnknownAccessKey
		reason       string // else: want this reason
	}{
		{"unknown", "0123456789abcdef0123456789abcdef", true, ""},
		{"empty", "", true, ""},
		{"overlong", strings.Repeat("a", maxAccessKeyLen+1), true, ""},
		{"deleted", deleted, true, ""},
		{"disabled user", disabled, false, "user is disabled"},
		{"no role on project", noRole, false, "user has no role on the credential's project"},
	}
	c, _ := f.client(t, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			secret, p, err := c.LookupSecret(context.Background(), tt.access)
			if !errors.Is(err, identity.ErrUnauthenticated) || errors.Is(err, ErrUnavailable) {
				t.Fatalf("LookupSecret: %v, want Unauthenticated", err)
			}
			if secret != "" || p.UserID != "" {
				t.Errorf("refusal came with a secret or principal (%+v)", p)
			}
			if tt.unknown != errors.Is(err, identity.ErrUnknownAccessKey) {
				t.Errorf("error %v: ErrUnknownAccessKey = %v, want %v", err, !tt.unknown, tt.unknown)
			}
			if !tt.unknown && identity.Reason(err) != tt.reason {
				t.Errorf("reason %q, want %q", identity.Reason(err), tt.reason)
			}
		})
	}
}

func TestKeystoneUnreachableIsUnavailable(t *testing.T) {
	f := setup(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String() + "/v3"
	l.Close()
	c, _ := f.client(t, func(c *Config) { c.URL = closed })

	_, err = authenticate(c, "some-token-value")
	if !errors.Is(err, ErrUnavailable) || errors.Is(err, identity.ErrUnauthenticated) {
		t.Errorf("Authenticate: %v, want ErrUnavailable and not Unauthenticated", err)
	}
	_, _, err = c.LookupSecret(context.Background(), "0123456789abcdef")
	if !errors.Is(err, ErrUnavailable) || errors.Is(err, identity.ErrUnauthenticated) {
		t.Errorf("LookupSecret: %v, want ErrUnavailable and not Unauthenticated", err)
	}
	if err != nil && (strings.Contains(err.Error(), f.svcPassword) || strings.Contains(err.Error(), "some-token-value")) {
		t.Errorf("error %q shows a password or token", err)
	}
}
