package sqlite

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/identity"
	"github.com/keyhaven/keyhaven/store/storetest"
)

func TestIdentityContract(t *testing.T) {
	storetest.RunIdentity(t, func(t *testing.T) identity.Store {
		s, err := Open(t.Context(), filepath.Join(t.TempDir(), "keyhaven.db"), Options{})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		return s
	})
}

// TestForeignKeysEnforced writes around the store's own checks, straight
// into the tables on the writer: the schema's foreign keys must refuse it.
func TestForeignKeysEnforced(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "k.db"), Options{})
	ctx := t.Context()
	for _, q := range []string{
		`INSERT INTO projects (id, name, domain_id) VALUES ('p', 'p', 'no-such-domain')`,
		`INSERT INTO assignments (user_id, project_id, role_id) VALUES ('u', 'p', 'r')`,
		`INSERT OR IGNORE INTO assignments (user_id, project_id, role_id) VALUES ('u', 'p', 'r')`,
		`INSERT INTO ec2_credentials (access, sealed_secret, user_id, project_id, created_at) VALUES ('a', x'00', 'u', 'p', 0)`,
	} {
		if _, err := s.w.ExecContext(ctx, q); err == nil || !strings.Contains(strings.ToLower(err.Error()), "foreign key") {
			t.Errorf("%s: %v, want a foreign key error", q, err)
		}
	}
}

// TestIdentityCascade checks the ON DELETE CASCADE of the schema, for the
// delete methods the interface will grow.
func TestIdentityCascade(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "k.db"), Options{})
	ctx := t.Context()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.CreateDomain(ctx, &identity.Domain{ID: "d", Name: "d"}))
	must(s.CreateProject(ctx, &identity.Project{ID: "p", Name: "p", DomainID: "d"}))
	must(s.CreateUser(ctx, &identity.User{ID: "u", Name: "u", DomainID: "d"}))
	must(s.CreateRole(ctx, &identity.Role{ID: "r", Name: "r"}))
	must(s.AddAssignment(ctx, identity.Assignment{UserID: "u", ProjectID: "p", RoleID: "r"}))
	must(s.CreateEC2Credential(ctx, &identity.EC2Credential{Access: "a", SealedSecret: []byte{1}, UserID: "u", ProjectID: "p"}))
	_, err := s.w.ExecContext(ctx, `DELETE FROM users WHERE id = 'u'`)
	must(err)
	if as, err := s.ListAssignments(ctx, identity.Filter{}); err != nil || len(as) != 0 {
		t.Errorf("after deleting the user ListAssignments = %v, %v; want none", as, err)
	}
	if _, err := s.GetEC2Credential(ctx, "a"); !errors.Is(err, identity.ErrNotFound) {
		t.Errorf("after deleting the user GetEC2Credential = %v, want ErrNotFound", err)
	}
}

func TestIdentityErrorsWrapped(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "k.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	err = s.SetPassword(t.Context(), "u", "$argon2id$HASH")
	if err == nil || !strings.HasPrefix(err.Error(), "sqlite: ") || strings.Contains(err.Error(), "HASH") {
		t.Errorf("SetPassword on a closed store: %v, want a wrapped error without the hash", err)
	}
	if errors.Is(err, identity.ErrNotFound) || errors.Is(err, identity.ErrConflict) {
		t.Errorf("SetPassword on a closed store: %v is a domain outcome", err)
	}
	if err := s.Revoke(t.Context(), identity.Revocation{AuditID: "x", ExpiresAt: time.Now()}); err == nil {
		t.Error("Revoke on a closed store succeeded")
	}
}
