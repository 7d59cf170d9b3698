package kms_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/keyhaven/keyhaven/kms"
)

// fake is a backend that only has a name; closed counts Close calls.
type fake struct {
	name   string
	closed *int
}

func (f fake) Name() string { return f.name }
func (f fake) Wrap(context.Context, string, []byte) ([]byte, string, error) {
	return nil, "", errors.New("fake")
}
func (f fake) Unwrap(context.Context, string, []byte) ([]byte, error) { return nil, errors.New("fake") }

type closer struct{ fake }

func (c closer) Close() error { *c.closed++; return nil }

func TestNewRegistry(t *testing.T) {
	for _, c := range []struct {
		def      string
		backends []kms.Wrapper
		want     string
	}{
		{"local", nil, `default backend "local" is not configured`},
		{"local", []kms.Wrapper{fake{name: "local"}, fake{name: "local"}}, "given twice"},
		{"a/b", []kms.Wrapper{fake{name: "a/b"}}, "invalid backend name"},
		{"", []kms.Wrapper{fake{name: ""}}, "invalid backend name"},
		{"x", []kms.Wrapper{nil}, "nil backend"},
	} {
		if _, err := kms.NewRegistry(c.def, c.backends...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("NewRegistry(%q, …) error = %v, want %q", c.def, err, c.want)
		}
	}
}

func TestRegistryLookups(t *testing.T) {
	n := 0
	reg, err := kms.NewRegistry("local", fake{name: "local"}, closer{fake{name: "pkcs11", closed: &n}}, fake{name: "other"})
	if err != nil {
		t.Fatal(err)
	}
	if reg.Default().Name() != "local" {
		t.Errorf("Default = %s", reg.Default().Name())
	}
	if w, ok := reg.External(); !ok || w.Name() != "pkcs11" {
		t.Errorf("External = %v, %v", w, ok)
	}
	w, key, err := reg.ForRef("pkcs11/keyhaven-kek")
	if err != nil || w.Name() != "pkcs11" || key != "keyhaven-kek" {
		t.Errorf("ForRef = %v, %q, %v", w, key, err)
	}
	for _, ref := range []string{"vault/x", "noslash", "/x", ""} {
		if _, _, err := reg.ForRef(ref); !errors.Is(err, kms.ErrKeyNotFound) {
			t.Errorf("ForRef(%q) error = %v, want ErrKeyNotFound", ref, err)
		}
	}
	if got := strings.Join(reg.Names(), ","); got != "local,pkcs11,other" {
		t.Errorf("Names = %s", got)
	}
	if err := reg.Close(); err != nil || n != 1 {
		t.Errorf("Close = %v, closed %d backends", err, n)
	}

	only, _ := kms.NewRegistry("local", fake{name: "local"})
	if _, ok := only.External(); ok {
		t.Error("External found a backend in a local-only registry")
	}
}

func TestErrors(t *testing.T) {
	cause := errors.New("CKR_DEVICE_REMOVED")
	err := kms.UnavailableError(cause, "pkcs11: token %q is unavailable", "t")
	if !errors.Is(err, kms.ErrUnavailable) || !errors.Is(err, cause) || errors.Is(err, kms.ErrKeyNotFound) {
		t.Errorf("UnavailableError matches wrongly: %v", err)
	}
	if err.Error() != `pkcs11: token "t" is unavailable` {
		t.Errorf("message = %q", err)
	}
	nf := kms.KeyNotFoundError("local: key %q not found", "x")
	if !errors.Is(nf, kms.ErrKeyNotFound) || errors.Is(nf, kms.ErrUnavailable) {
		t.Errorf("KeyNotFoundError matches wrongly: %v", nf)
	}
	if err := kms.CheckDataKey(make([]byte, 31)); err == nil {
		t.Error("CheckDataKey accepted 31 bytes")
	}
}

func TestSearchOrder(t *testing.T) {
	for _, tc := range []struct {
		backends []string
		want     string
	}{
		{[]string{"local"}, "local"},
		{[]string{"local", "pkcs11"}, "pkcs11,local"},
		{[]string{"pkcs11", "local"}, "pkcs11,local"},
		{[]string{"local", "pkcs11", "vault"}, "pkcs11,vault,local"},
		{[]string{"pkcs11"}, "pkcs11"},
	} {
		var ws []kms.Wrapper
		for _, name := range tc.backends {
			ws = append(ws, fake{name: name})
		}
		r, err := kms.NewRegistry(tc.backends[0], ws...)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, w := range r.SearchOrder() {
			got = append(got, w.Name())
		}
		if strings.Join(got, ",") != tc.want {
			t.Errorf("%v: SearchOrder = %v, want %s", tc.backends, got, tc.want)
		}
	}
}
