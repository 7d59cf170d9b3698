package keypair_test

import (
	"bytes"
	"context"
	"path/filepath"
	"sync"
	"testing"

	"github.com/keyhaven/keyhaven/escrow"
	"github.com/keyhaven/keyhaven/keypair"
	"github.com/keyhaven/keyhaven/kms"
	"github.com/keyhaven/keyhaven/kms/local"
	"github.com/keyhaven/keyhaven/store/sqlite"
)

// resealFixture is a Service on a real SQLite store and local KMS (with the
// named key demo) holding one escrowed, generated key pair "k".
type resealFixture struct {
	svc     *keypair.Service
	st      *sqlite.Store
	actor   keypair.Actor
	private string
}

func newResealFixture(t *testing.T) *resealFixture {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "k.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	loc, err := local.Open(filepath.Join(dir, "kms-local"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := loc.CreateKey(ctx, "demo"); err != nil {
		t.Fatal(err)
	}
	reg, err := kms.NewRegistry(local.Name, loc)
	if err != nil {
		t.Fatal(err)
	}
	f := &resealFixture{svc: keypair.NewService(keypair.Config{Store: st, Quota: keypair.Unlimited, Escrow: escrow.New(reg)}), st: st,
		actor: keypair.Actor{UserID: "u1", ProjectID: "p1", Roles: []string{"member"}, RequestID: "req"}}
	c, err := f.svc.Create(ctx, f.actor, keypair.CreateInput{Name: "k", Protection: &keypair.Protection{Encryption: keypair.Encryption{Type: "default"}}})
	if err != nil {
		t.Fatal(err)
	}
	f.private = c.PrivateKey
	return f
}

func (f *resealFixture) escrowed(t *testing.T) *keypair.Escrowed {
	t.Helper()
	kp, err := f.svc.Get(context.Background(), f.actor, "", "k")
	if err != nil || kp.Escrow == nil {
		t.Fatalf("Get: %+v, %v", kp, err)
	}
	return kp.Escrow
}

func (f *resealFixture) audit(t *testing.T) []keypair.AuditAction {
	t.Helper()
	entries, err := f.st.ListAudit(context.Background(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []keypair.AuditAction
	for _, e := range entries {
		out = append(out, e.Action)
	}
	return out
}

func TestImportPrivateKeyReseals(t *testing.T) {
	ctx := context.Background()
	f := newResealFixture(t)
	other, err := f.svc.Create(ctx, f.actor, keypair.CreateInput{Name: "other"})
	if err != nil {
		t.Fatal(err)
	}
	kmsEnc := func(name string) keypair.Encryption { return keypair.Encryption{Type: "kms", KMSKeyName: name} }
	for _, tc := range []struct {
		step       string
		private    string
		enc        keypair.Encryption
		wantRef    string         // the escrowed copy's ref afterwards
		wantReason keypair.Reason // "" = success
		wantCode   keypair.Code
	}{
		{"default → kms demo", f.private, kmsEnc("demo"), "local/demo@v1", "", ""},
		{"the same again", f.private, kmsEnc("demo"), "local/demo@v1", "", ""},
		{"kms demo → kps/default", f.private, kmsEnc(local.DefaultKPSKey), "local/kps/default@v1", "", ""},
		{"a key that does not match", other.PrivateKey, kmsEnc("demo"), "local/kps/default@v1", keypair.ReasonKeyMismatch, keypair.EINVALID},
		{"not a key", "garbage", kmsEnc("demo"), "local/kps/default@v1", keypair.ReasonPrivateKeyInvalid, keypair.EINVALID},
		{"an unknown KMS key", f.private, kmsEnc("testName"), "local/kps/default@v1", keypair.ReasonKMSKeyNotFound, keypair.EINVALID},
		{"kms without a name", f.private, keypair.Encryption{Type: "kms"}, "local/kps/default@v1", "", keypair.EINVALID},
		{"kms → default", f.private, keypair.Encryption{Type: "default"}, "local/master@v1", "", ""},
	} {
		before := f.escrowed(t)
		auditBefore := len(f.audit(t))
		priv := tc.private
		_, err := f.svc.ImportPrivateKey(ctx, f.actor, "", "k", keypair.Protection{PrivateKey: &priv, Encryption: tc.enc})
		if got := keypair.ErrorCode(err); got != tc.wantCode || keypair.ErrorReason(err) != tc.wantReason {
			t.Fatalf("%s: error %v (%s/%s), want %s/%s", tc.step, err, got, keypair.ErrorReason(err), tc.wantCode, tc.wantReason)
		}
		after := f.escrowed(t)
		if after.KeyRef != tc.wantRef {
			t.Errorf("%s: KeyRef = %s, want %s", tc.step, after.KeyRef, tc.wantRef)
		}
		actions := f.audit(t)
		if err != nil {
			if !bytes.Equal(after.Blob, before.Blob) || len(actions) != auditBefore {
				t.Errorf("%s: a refused import changed the escrowed copy or the audit log", tc.step)
			}
			continue
		}
		if bytes.Equal(after.Blob, before.Blob) {
			t.Errorf("%s: the escrowed copy was not re-sealed", tc.step)
		}
		if len(actions) != auditBefore+1 || actions[len(actions)-1] != keypair.AuditReseal {
			t.Errorf("%s: audit = %v, want one more %s", tc.step, actions, keypair.AuditReseal)
		}
		got, err := f.svc.ExportPrivateKey(ctx, f.actor, "", "k")
		if err != nil || got != f.private {
			t.Fatalf("%s: export = %v, gives another key: %v", tc.step, got != f.private, err)
		}
	}
}

// TestImportPrivateKeyConcurrentReseals: re-imports racing each other
// either succeed or answer ECONFLICT, and each success, and only a
// success, has its audit entry.
func TestImportPrivateKeyConcurrentReseals(t *testing.T) {
	ctx := context.Background()
	f := newResealFixture(t)
	auditBefore := len(f.audit(t))
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			enc := keypair.Encryption{Type: "kms", KMSKeyName: []string{"demo", local.DefaultKPSKey}[i%2]}
			priv := f.private
			_, errs[i] = f.svc.ImportPrivateKey(ctx, f.actor, "", "k", keypair.Protection{PrivateKey: &priv, Encryption: enc})
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch keypair.ErrorCode(err) {
		case "":
			ok++
		case keypair.ECONFLICT:
		default:
			t.Errorf("concurrent re-import: %v", err)
		}
	}
	if ok == 0 {
		t.Fatal("no concurrent re-import succeeded")
	}
	if got := len(f.audit(t)) - auditBefore; got != ok {
		t.Errorf("%d re-seals audited, %d succeeded", got, ok)
	}
	if got, err := f.svc.ExportPrivateKey(ctx, f.actor, "", "k"); err != nil || got != f.private {
		t.Fatalf("export after the race: %v", err)
	}
}
