package builtin

import (
	"context"
	"errors"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/identity"
	"github.com/keyhaven/keyhaven/identity/password"
	"github.com/keyhaven/keyhaven/identity/token"
	"github.com/keyhaven/keyhaven/store/sqlite"
)

// world is one keyhaven data directory; services opened on it behave as
// separate processes sharing the database and the key directory.
type world struct {
	dir     string
	credKey []byte
	now     time.Time
}

func newWorld(t *testing.T) *world {
	return &world{dir: t.TempDir(), credKey: make([]byte, 32), now: time.Now()}
}

func (w *world) open(t *testing.T) (*Service, *sqlite.Store) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(w.dir, "k.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ring, err := token.OpenKeyring(filepath.Join(w.dir, "keys"), 3)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := New(Config{Store: st, Tokens: token.NewIssuer(ring), Hasher: password.NewHasher(password.Params{Memory: 64, Time: 1, Threads: 1}, 2),
		CredentialKey: w.credKey, Now: func() time.Time { return w.now }})
	if err != nil {
		t.Fatal(err)
	}
	return svc, st
}

func TestPasswordAuthAndScoping(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	svc, _ := w.open(t)
	pw, err := svc.Bootstrap(ctx, "")
	if err != nil || pw == "" {
		t.Fatalf("bootstrap: %q %v", pw, err)
	}
	if again, err := svc.Bootstrap(ctx, "other"); err != nil || again != "" {
		t.Fatalf("second bootstrap changed something: %q %v", again, err)
	}
	admin := UserRef{Name: "admin", DomainName: "Default"}
	adminScope := Scope{ProjectName: "admin", DomainID: DefaultDomainID}

	tok, err := svc.AuthPassword(ctx, admin, pw, adminScope)
	if err != nil {
		t.Fatal(err)
	}
	if tok.Project == nil || tok.Project.Name != "admin" || len(tok.Roles) != 1 || tok.Roles[0].Name != "admin" || tok.Payload.ExpiresAt.Sub(tok.Payload.IssuedAt) != time.Hour {
		t.Fatalf("token: %+v", tok)
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set(Header, tok.ID)
	p, err := svc.Authenticate(ctx, r)
	if err != nil || p.UserID != tok.User.ID || p.ProjectID != tok.Project.ID || !p.IsAdmin() {
		t.Fatalf("authenticate: %+v %v", p, err)
	}

	// A second user, member of a second project only.
	proj, _ := svc.EnsureProject(ctx, DefaultDomainID, "dev")
	alice, err := svc.CreateUser(ctx, DefaultDomainID, "alice", "alice-pw")
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Grant(ctx, alice.ID, proj.ID, "member"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		ref   UserRef
		pw    string
		scope Scope
	}{
		{"wrong password", UserRef{ID: alice.ID}, "nope", Scope{ProjectID: proj.ID}},
		{"unknown user", UserRef{Name: "ghost", DomainID: DefaultDomainID}, "x", Scope{}},
		{"unknown domain", UserRef{Name: "alice", DomainName: "Elsewhere"}, "alice-pw", Scope{}},
		{"no role on project", UserRef{ID: alice.ID}, "alice-pw", adminScope},
		{"unknown project", UserRef{ID: alice.ID}, "alice-pw", Scope{ProjectID: "nope"}},
	} {
		if _, err := svc.AuthPassword(ctx, c.ref, c.pw, c.scope); !errors.Is(err, identity.ErrUnauthenticated) {
			t.Errorf("%s: %v", c.name, err)
		}
	}

	// Unscoped, then rescoped with the token method; the rescoped token
	// expires no later than the first.
	unscoped, err := svc.AuthPassword(ctx, UserRef{ID: alice.ID}, "alice-pw", Scope{})
	if err != nil || unscoped.Project != nil || len(unscoped.Payload.Roles) != 0 {
		t.Fatalf("unscoped: %+v %v", unscoped, err)
	}
	r.Header.Set(Header, unscoped.ID)
	if _, err := svc.Authenticate(ctx, r); !errors.Is(err, identity.ErrUnauthenticated) {
		t.Fatal("an unscoped token authenticated an API request")
	}
	w.now = w.now.Add(10 * time.Minute)
	scoped, err := svc.AuthToken(ctx, unscoped.ID, Scope{ProjectName: "dev", DomainName: "Default"})
	if err != nil || scoped.Project.ID != proj.ID || !scoped.Payload.ExpiresAt.Equal(unscoped.Payload.ExpiresAt) {
		t.Fatalf("rescope: %+v %v", scoped, err)
	}
	if got := scoped.Payload.Methods; len(got) != 2 || got[1] != "token" {
		t.Fatalf("methods %v", got)
	}

	// Past its expiry a token validates no more.
	w.now = w.now.Add(time.Hour)
	if _, err := svc.Validate(ctx, scoped.ID); !errors.Is(err, ErrTokenNotFound) {
		t.Fatalf("expired token validated: %v", err)
	}
}

func TestRevocationReachesOtherProcesses(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	a, _ := w.open(t)
	pw, err := a.Bootstrap(ctx, "pw")
	if err != nil || pw != "pw" {
		t.Fatal(err)
	}
	b, _ := w.open(t)
	tok, err := a.AuthPassword(ctx, UserRef{Name: "admin", DomainID: DefaultDomainID}, "pw", Scope{ProjectName: "admin", DomainID: DefaultDomainID})
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set(Header, tok.ID)
	if _, err := b.Authenticate(ctx, r); err != nil {
		t.Fatalf("b does not accept a's token: %v", err)
	}
	if err := a.Revoke(ctx, tok.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authenticate(ctx, r); err == nil {
		t.Fatal("revoked token still accepted where it was revoked")
	}
	if err := b.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Authenticate(ctx, r); err == nil {
		t.Fatal("revoked token still accepted by the other process after a reload")
	}
}

func TestEC2Credentials(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	svc, st := w.open(t)
	if _, err := svc.Bootstrap(ctx, "pw"); err != nil {
		t.Fatal(err)
	}
	admin, _ := st.GetUserByName(ctx, DefaultDomainID, "admin")
	proj, _ := st.GetProjectByName(ctx, DefaultDomainID, "admin")
	c1, err := svc.CreateEC2(ctx, admin.ID, proj.ID)
	if err != nil {
		t.Fatal(err)
	}
	c2, _ := svc.CreateEC2(ctx, admin.ID, proj.ID)
	secret, p, err := svc.LookupSecret(ctx, c1.Access)
	if err != nil || secret != c1.Secret || p.UserID != admin.ID || p.ProjectID != proj.ID || !p.IsAdmin() {
		t.Fatalf("lookup: %q %+v %v", secret, p, err)
	}
	if _, _, err := svc.LookupSecret(ctx, "nope"); !errors.Is(err, identity.ErrUnknownAccessKey) {
		t.Fatalf("unknown access: %v", err)
	}
	list, err := svc.ListEC2(ctx, admin.ID)
	if err != nil || len(list) != 2 {
		t.Fatalf("list: %v %v", list, err)
	}

	// The secret is sealed to its access key: copied to another
	// credential's row it does not open.
	stored1, _ := st.GetEC2Credential(ctx, c1.Access)
	if string(stored1.SealedSecret) == c1.Secret {
		t.Fatal("secret stored in plaintext")
	}
	forged := &identity.EC2Credential{Access: "forged", SealedSecret: stored1.SealedSecret, UserID: admin.ID, ProjectID: proj.ID}
	if err := st.CreateEC2Credential(ctx, forged); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.LookupSecret(ctx, "forged"); err == nil {
		t.Fatal("a sealed secret opened under another access key")
	}
	if err := svc.DeleteEC2(ctx, admin.ID, c2.Access); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.GetEC2(ctx, admin.ID, c2.Access); !errors.Is(err, identity.ErrNotFound) {
		t.Fatalf("deleted credential: %v", err)
	}
	// A user without a role on the project gets no credential there.
	bob, _ := svc.CreateUser(ctx, DefaultDomainID, "bob", "pw")
	if _, err := svc.CreateEC2(ctx, bob.ID, proj.ID); !errors.Is(err, identity.ErrNotFound) {
		t.Fatalf("credential without a role: %v", err)
	}
}
