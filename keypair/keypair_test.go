package keypair

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestValidateName(t *testing.T) {
	for _, c := range []struct {
		name string
		ok   bool
	}{
		{"a", true},
		{"a b", true},
		{"me@host.example", true},
		{strings.Repeat("x", MaxNameLength), true},
		{strings.Repeat("ключ", 60), true},
		{"", false},
		{strings.Repeat("x", MaxNameLength+1), false},
		{" a", false},
		{"a\n", false},
		{"\xff", false},
		{".", false},
		{"..", false},
		{"...", true},
		{".ssh", true},
		{"a..b", true},
	} {
		err := ValidateName(c.name)
		if (err == nil) != c.ok {
			t.Errorf("ValidateName(%q) = %v", c.name, err)
		}
		if err != nil && ErrorCode(err) != EINVALID {
			t.Errorf("ValidateName(%q) code %s", c.name, ErrorCode(err))
		}
	}
}

func TestOwnerPolicy(t *testing.T) {
	alice := Actor{UserID: "alice", ProjectID: "p", Roles: []string{"member"}}
	reader := Actor{UserID: "alice", ProjectID: "p", Roles: []string{"reader"}}
	admin := Actor{UserID: "root", ProjectID: "p", Roles: []string{"admin"}}
	for _, c := range []struct {
		actor  Actor
		target string
		want   string
		code   Code
	}{
		{alice, "", "alice", ""},
		{alice, "alice", "alice", ""},
		{alice, "bob", "", EFORBIDDEN},
		{admin, "bob", "bob", ""},
		{admin, "", "root", ""},
		{reader, "", "alice", ""},
	} {
		got, err := owner(c.actor, c.target, ActionShow)
		if got != c.want || ErrorCode(err) != c.code {
			t.Errorf("owner(%v, %q) = %q, %v", c.actor, c.target, got, err)
		}
	}
	if _, err := owner(reader, "", ActionCreate); ErrorCode(err) != EFORBIDDEN {
		t.Errorf("reader may create: %v", err)
	}
	if a := ErrorAction(Forbidden(ActionDelete)); a != ActionDelete {
		t.Errorf("action %q", a)
	}
}

func TestErrorHelpers(t *testing.T) {
	if ErrorCode(nil) != "" || ErrorMessage(Conflict("k")) != "Key pair 'k' already exists." {
		t.Fatal("helpers")
	}
	if ErrorCode(errString("boom")) != EINTERNAL || ErrorMessage(errString("secret detail")) != "Internal error." {
		t.Fatal("non-application errors must read as internal")
	}
	if NotFound("n", "u").Message != "Keypair n not found for user u" {
		t.Fatal("not found message")
	}
}

type errString string

func (e errString) Error() string { return string(e) }

func TestFingerprintMessages(t *testing.T) {
	if _, err := Fingerprint(TypeSSH, "hello world"); ErrorMessage(err) != "Keypair data is invalid: failed to generate fingerprint" {
		t.Fatalf("ssh: %v", err)
	}
	_, err := Fingerprint(TypeX509, "nope")
	if !strings.HasPrefix(ErrorMessage(err), "Keypair data is invalid: failed to generate X509 fingerprint. Error message: ") {
		t.Fatalf("x509: %v", err)
	}
}

// TestNewUIDOrdered checks that uids are 32 hex digits, ordered by the
// millisecond they were made in, and distinct within one.
func TestNewUIDOrdered(t *testing.T) {
	at := time.UnixMilli(1_764_547_200_123)
	seen := map[string]bool{}
	prev := ""
	for i := range 1000 {
		now := at.Add(time.Duration(i/10) * time.Millisecond)
		u := newUID(now)
		if len(u) != 32 || strings.Trim(u, "0123456789abcdef") != "" {
			t.Fatalf("uid %q is not 32 lower-case hex digits", u)
		}
		if seen[u] {
			t.Fatalf("uid %q made twice", u)
		}
		seen[u] = true
		if i%10 == 0 && u[:12] <= prev {
			t.Fatalf("uid %q of a later millisecond sorts before %q", u, prev)
		}
		prev = u[:12]
	}
	if got, want := newUID(at)[:12], fmt.Sprintf("%012x", at.UnixMilli()); got != want {
		t.Errorf("uid starts %s, want the milliseconds %s", got, want)
	}
}
