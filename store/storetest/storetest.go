package storetest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/keypair"
)

// Run runs the contract suite against the engine open makes. Each subtest
// calls open once and must get a new, empty store of its own; Run closes it
// when the subtest ends, and open must not close it itself.
func Run(t *testing.T, open func(t *testing.T) keypair.Store) {
	tests := []contractCase[keypair.Store]{
		{"CreateGetRoundTrip", testRoundTrip},
		{"InvalidCreate", testInvalidCreate},
		{"IDsIncrease", testIDsIncrease},
		{"DuplicateName", testDuplicateName},
		{"NamesCaseSensitive", testCaseSensitive},
		{"NotFound", testNotFound},
		{"DeleteThenRecreate", testDeleteRecreate},
		{"List", testList},
		{"ListEmpty", testListEmpty},
		{"Paginate", testPaginate},
		{"Count", testCount},
		{"Visibility", testVisibility},
		{"ListShared", testListShared},
		{"NameConflicts", testNameConflicts},
		{"OwnWinsOverShared", testOwnWinsOverShared},
		{"Quota", testQuota},
		{"QuotaZero", testQuotaZero},
		{"CancelledContext", testCancelledContext},
		{"ConcurrentSameName", testConcurrentSameName},
		{"ConcurrentScopes", testConcurrentScopes},
		{"ConcurrentScopeMix", testConcurrentScopeMix},
		{"ConcurrentQuota", testConcurrentQuota},
		{"CountMatchesRows", testCountMatchesRows},
		{"UpdateDescription", testUpdateDescription},
		{"SwapEscrow", testSwapEscrow},
		{"CreateEscrowed", testCreateEscrowed},
		{"ListEscrowed", testListEscrowed},
		{"AuditChain", testAuditChain},
		{"AuditConcurrent", testAuditConcurrent},
		{"AuditPaging", testAuditPaging},
		{"AuditWithCreate", testAuditWithCreate},
		{"AuditWithSwap", testAuditWithSwap},
		{"AuditWithDelete", testAuditWithDelete},
		{"AuditChangesConcurrent", testAuditChangesConcurrent},
	}
	tests = append(tests, lifecycleTests...)
	runCases(t, open, tests)
}

// contractCase is one test of a contract suite, on a fresh store S.
type contractCase[S interface{ Close() error }] struct {
	name string
	fn   func(t *testing.T, s S)
}

// runCases runs each case as a subtest on a store open makes for it alone,
// closed (and its Close checked) when the case ends.
func runCases[S interface{ Close() error }](t *testing.T, open func(t *testing.T) S, cases []contractCase[S]) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			if any(s) == nil {
				t.Fatal("open returned a nil store")
			}
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tc.fn(t, s)
		})
	}
}

// Fixtures. None of them needs to be a valid key: stores keep bytes as given.
const (
	project     = "project-1"
	domain      = "domain-1"
	sshPublic   = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFj2YwYzbnx8rI8ZmPs0nTb0m3uVd1Qm2Hn2yq3cX8kq storetest@keyhaven"
	fingerprint = "4e:2f:9a:10:b3:5c:77:0d:e1:aa:42:c9:3b:8f:61:d0"
	// quota is large enough not to matter in tests that are not about it.
	quota = 1000
)

// newUID returns a random key pair UID, as the domain would assign.
func newUID() string {
	return rand.Text()
}

// newKP returns a fresh user-scope ssh key pair fixture owned by user of
// domain.
func newKP(user, name string) *keypair.KeyPair {
	return &keypair.KeyPair{
		UID:         newUID(),
		UserID:      user,
		ProjectID:   project,
		DomainID:    domain,
		Name:        name,
		Type:        keypair.TypeSSH,
		Scope:       keypair.ScopeUser,
		PublicKey:   sshPublic,
		Fingerprint: fingerprint,
		Algorithm:   "ed25519",
	}
}

// sharedKP returns a domain-scope fixture owned by user of dom.
func sharedKP(user, dom, name string) *keypair.KeyPair {
	kp := newKP(user, name)
	kp.DomainID = dom
	kp.Scope = keypair.ScopeDomain
	return kp
}

// me is user's viewer in the fixtures' domain.
func me(user string) keypair.Viewer {
	return keypair.Viewer{UserID: user, DomainID: domain}
}

// x509PEM returns a freshly made self-signed client certificate in PEM.
func x509PEM(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "storetest"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

// mustCreate creates kp or fails the test.
func mustCreate(t *testing.T, s keypair.Store, kp *keypair.KeyPair) *keypair.KeyPair {
	t.Helper()
	if err := s.CreateKeyPair(t.Context(), kp, quota, nil); err != nil {
		t.Fatalf("CreateKeyPair(%q, %q): %v", kp.UserID, kp.Name, err)
	}
	return kp
}

// wantCode fails the test unless err carries code.
func wantCode(t *testing.T, err error, code keypair.Code, what string) {
	t.Helper()
	if got := keypair.ErrorCode(err); got != code {
		t.Fatalf("%s: got error %v (code %q), want code %q", what, err, got, code)
	}
}

// wantNoSecret fails the test when err's text carries public key material.
func wantNoSecret(t *testing.T, err error, publicKey string) {
	t.Helper()
	if err == nil {
		return
	}
	for _, part := range strings.Fields(publicKey) {
		if len(part) >= 16 && strings.Contains(err.Error(), part) {
			t.Fatalf("error %q contains public key material", err)
		}
	}
}

// diff describes how got differs from want, "" when they are the same key
// pair. Times must be the same instants and in UTC.
func diff(got, want *keypair.KeyPair) string {
	if got == nil || want == nil {
		return fmt.Sprintf("got %v, want %v", got, want)
	}
	var d []string
	field := func(name string, g, w any) {
		if g != w {
			d = append(d, fmt.Sprintf("%s = %q, want %q", name, fmt.Sprint(g), fmt.Sprint(w)))
		}
	}
	field("ID", got.ID, want.ID)
	field("UID", got.UID, want.UID)
	field("UserID", got.UserID, want.UserID)
	field("ProjectID", got.ProjectID, want.ProjectID)
	field("DomainID", got.DomainID, want.DomainID)
	field("Name", got.Name, want.Name)
	field("Type", got.Type, want.Type)
	field("Scope", got.Scope, want.Scope)
	field("PublicKey", got.PublicKey, want.PublicKey)
	field("Fingerprint", got.Fingerprint, want.Fingerprint)
	field("Algorithm", got.Algorithm, want.Algorithm)
	field("Description", got.Description, want.Description)
	for _, tm := range []struct {
		name      string
		got, want time.Time
	}{{"CreatedAt", got.CreatedAt, want.CreatedAt}, {"UpdatedAt", got.UpdatedAt, want.UpdatedAt}} {
		if !tm.got.Equal(tm.want) {
			d = append(d, fmt.Sprintf("%s = %s, want %s", tm.name, tm.got.Format(time.RFC3339Nano), tm.want.Format(time.RFC3339Nano)))
		}
		if tm.got.Location() != time.UTC {
			d = append(d, fmt.Sprintf("%s location = %s, want UTC", tm.name, tm.got.Location()))
		}
	}
	if e := escrowDiff(got.Escrow, want.Escrow); e != "" {
		d = append(d, "Escrow "+e)
	}
	return strings.Join(d, "; ")
}

// escrowDiff describes how got differs from want, "" when they are the
// same escrowed key (or both none).
func escrowDiff(got, want *keypair.Escrowed) string {
	switch {
	case got == nil && want == nil:
		return ""
	case got == nil || want == nil:
		return fmt.Sprintf("= %v, want %v", got, want)
	case got.KeyRef != want.KeyRef || !bytes.Equal(got.Blob, want.Blob):
		return fmt.Sprintf("= {%q, %x}, want {%q, %x}", got.KeyRef, got.Blob, want.KeyRef, want.Blob)
	}
	return ""
}

// names returns the names of kps in order.
// diffListed describes how a listed key pair differs from what a list
// should show of want; empty when it does not.
func diffListed(got keypair.Listed, want *keypair.KeyPair) string {
	if want == nil {
		return fmt.Sprintf("listed %q, want nothing", got.Name)
	}
	if w := keypair.ListedOf(want); got != w {
		return fmt.Sprintf("listed %+v, want %+v", got, w)
	}
	return ""
}

// listedNames returns the names of a list, in its order.
func listedNames(ls []keypair.Listed) []string {
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = l.Name
	}
	return out
}

func names(kps []*keypair.KeyPair) []string {
	out := make([]string, len(kps))
	for i, kp := range kps {
		out[i] = kp.Name
	}
	return out
}
