package keypair

import (
	"strings"
	"testing"
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
