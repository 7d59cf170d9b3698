package keypair_test

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/keypair"
	"github.com/keyhaven/keyhaven/store/sqlite"
)

// clock is a settable time source for the Service's Config.Now.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Set(t time.Time) { c.mu.Lock(); c.now = t; c.mu.Unlock() }

// nativeService is a Service on a real SQLite store with a settable clock.
func nativeService(t *testing.T) (*keypair.Service, *clock, keypair.Store) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "k.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	c := &clock{now: time.Now().UTC()}
	return keypair.NewService(keypair.Config{Store: st, Quota: keypair.Unlimited, Now: c.Now, RotationGrace: time.Hour}), c, st
}

var member = keypair.Actor{UserID: "u1", ProjectID: "p1", Roles: []string{"member"}}

func TestValidateTags(t *testing.T) {
	many := make([]keypair.Tag, 51)
	for i := range many {
		many[i] = keypair.Tag{Key: "k" + strings.Repeat("x", i), Value: "v"}
	}
	for _, c := range []struct {
		name string
		tags []keypair.Tag
		ok   bool
	}{
		{"none", nil, true},
		{"fifty", many[:50], true},
		{"fifty-one", many, false},
		{"all key characters", []keypair.Tag{{Key: "a Z 9 _.:/+-@ é", Value: ""}}, true},
		{"equals in key", []keypair.Tag{{Key: "a=b", Value: "c"}}, false},
		{"empty key", []keypair.Tag{{Key: "", Value: "c"}}, false},
		{"leading space", []keypair.Tag{{Key: " a", Value: "c"}}, false},
		{"key of 128", []keypair.Tag{{Key: strings.Repeat("k", 128), Value: "c"}}, true},
		{"key of 129", []keypair.Tag{{Key: strings.Repeat("k", 129), Value: "c"}}, false},
		{"value of 256", []keypair.Tag{{Key: "k", Value: strings.Repeat("v", 256)}}, true},
		{"value of 257", []keypair.Tag{{Key: "k", Value: strings.Repeat("v", 257)}}, false},
		{"control in value", []keypair.Tag{{Key: "k", Value: "a\nb"}}, false},
		{"invalid UTF-8", []keypair.Tag{{Key: "k", Value: "\xff"}}, false},
		{"duplicate", []keypair.Tag{{Key: "k", Value: "1"}, {Key: "k", Value: "2"}}, false},
	} {
		_, err := keypair.ValidateTags(c.tags)
		if (err == nil) != c.ok || (err != nil && keypair.ErrorCode(err) != keypair.EINVALID) {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}

func TestCheckSpec(t *testing.T) {
	for _, c := range []struct {
		spec keypair.KeySpec
		ok   bool
	}{
		{keypair.KeySpec{}, true},
		{keypair.KeySpec{Type: "rsa-4096", Format: "pkcs1"}, true},
		{keypair.KeySpec{Type: "ecdsa-p521", Format: "sec1"}, true},
		{keypair.KeySpec{Type: "ed25519", Format: "ppk"}, true},
		{keypair.KeySpec{Type: "ed25519", Format: "pkcs1"}, false},
		{keypair.KeySpec{Type: "rsa-2048", Format: "sec1"}, false},
		{keypair.KeySpec{Type: "rsa-5000"}, false},
		{keypair.KeySpec{Type: "dsa-1024"}, false},
		{keypair.KeySpec{Format: "jks"}, false},
	} {
		if err := keypair.CheckSpec(c.spec); (err == nil) != c.ok {
			t.Errorf("CheckSpec(%+v) = %v", c.spec, err)
		}
	}
}

func TestWarnings(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		in   time.Duration
		want string
	}{
		{8 * 24 * time.Hour, ""},
		{7*24*time.Hour + time.Second, ""},
		{3 * 24 * time.Hour, "expires in 3 days"},
		{36 * time.Hour, "expires in 1 day"},
		{5 * time.Hour, "expires in 5 hours"},
		{time.Hour, "expires in 1 hour"},
		{time.Minute, "expires in less than an hour"},
	} {
		at := now.Add(c.in)
		kp := &keypair.KeyPair{Details: keypair.Details{ExpiresAt: &at}}
		if got := strings.Join(keypair.Warnings(kp, now), ";"); got != c.want {
			t.Errorf("expiry in %s: %q, want %q", c.in, got, c.want)
		}
	}
	if w := keypair.Warnings(&keypair.KeyPair{}, now); w != nil {
		t.Errorf("no expiry: %v", w)
	}
}

// TestExpiryAndGrace: an expired key pair is hidden at once and reaped
// (audited) by ReapExpired; a rotation's previous key is shown for the
// grace period and dropped after it.
func TestExpiryAndGrace(t *testing.T) {
	svc, clk, st := nativeService(t)
	ctx := context.Background()
	t0 := clk.Now()
	in := t0.Add(time.Hour)
	if _, err := svc.Create(ctx, member, keypair.CreateInput{Name: "brief", Spec: &keypair.KeySpec{}, ExpiresAt: &in}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Create(ctx, member, keypair.CreateInput{Name: "spun", Spec: &keypair.KeySpec{}}); err != nil {
		t.Fatal(err)
	}
	past := t0.Add(-time.Second)
	if _, err := svc.Create(ctx, member, keypair.CreateInput{Name: "late", ExpiresAt: &past}); keypair.ErrorCode(err) != keypair.EINVALID {
		t.Fatalf("create with a past expiry: %v", err)
	}
	r, err := svc.Rotate(ctx, member, "spun", keypair.RotateInput{})
	if err != nil || r.PrivateKey == "" {
		t.Fatalf("rotate: %+v %v", r, err)
	}

	clk.Set(t0.Add(59 * time.Minute))
	if kp, err := svc.GetDetailed(ctx, member, "", "spun"); err != nil || kp.Details.Previous == nil {
		t.Fatalf("within the grace period: %+v %v", kp, err)
	}
	clk.Set(t0.Add(61 * time.Minute))
	if _, err := svc.GetDetailed(ctx, member, "", "brief"); keypair.ErrorCode(err) != keypair.ENOTFOUND {
		t.Fatalf("show of an expired key pair: %v", err)
	}
	kps, _, err := svc.ListDetailed(ctx, member, keypair.ListScope{}, keypair.NativeFilter{}, keypair.Position{}, 10)
	if err != nil || len(kps) != 1 || kps[0].Name != "spun" || kps[0].Details.Previous != nil {
		t.Fatalf("list after expiry and grace: %+v %v", kps, err)
	}
	n, err := svc.ReapExpired(ctx, "test")
	if err != nil || n != 1 {
		t.Fatalf("ReapExpired = %d, %v", n, err)
	}
	if n, err := svc.ReapExpired(ctx, "test"); err != nil || n != 0 {
		t.Fatalf("second ReapExpired = %d, %v", n, err)
	}
	es, err := st.ListAudit(ctx, 0, 100)
	if err != nil || len(es) != 2 || es[0].Action != keypair.AuditRotate || es[1].Action != keypair.AuditExpire ||
		es[1].UserID != keypair.ExpiryActor || es[1].KeyPairName != "brief" || es[1].ProjectID != "p1" {
		t.Fatalf("audit: %+v %v", es, err)
	}
	// The grace period's end dropped the previous key from the store too.
	kp, err := svc.Get(ctx, member, "", "spun")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.LoadDetails(ctx, []*keypair.KeyPair{kp}); err != nil || kp.Details.Previous != nil {
		t.Fatalf("previous kept past the grace period: %+v %v", kp.Details.Previous, err)
	}
}
