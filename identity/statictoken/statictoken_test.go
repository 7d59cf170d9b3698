package statictoken

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/keyhaven/keyhaven/identity"
)

func TestParseAndAuthenticate(t *testing.T) {
	a, err := Parse(strings.NewReader(`# token user project roles
alice-token  alice  p1
admin-token  admin  p2  admin,member   # trailing comment

bob-token bob p1 member
`))
	if err != nil {
		t.Fatal(err)
	}
	if a.Len() != 3 {
		t.Fatalf("Len = %d, want 3", a.Len())
	}
	tests := []struct {
		token     string
		wantUser  string
		wantAdmin bool
		wantErr   bool
	}{
		{"alice-token", "alice", false, false},
		{"admin-token", "admin", true, false},
		{"bob-token", "bob", false, false},
		{"", "", false, true},
		{"nope", "", false, true},
		{"alice-token ", "", false, true},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/", nil)
		if tt.token != "" {
			r.Header.Set(Header, tt.token)
		}
		p, err := a.Authenticate(context.Background(), r)
		if tt.wantErr {
			if !errors.Is(err, identity.ErrUnauthenticated) {
				t.Errorf("token %q: err = %v, want ErrUnauthenticated", tt.token, err)
			}
			continue
		}
		if err != nil || p.UserID != tt.wantUser || p.IsAdmin() != tt.wantAdmin {
			t.Errorf("token %q: got %+v, %v", tt.token, p, err)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, in := range []string{
		"onlytoken\n",
		"tok user\n",
		"tok user project roles extra\n",
		"tok u p\ntok v q\n",
	} {
		if _, err := Parse(strings.NewReader(in)); err == nil {
			t.Errorf("Parse(%q) succeeded, want error", in)
		}
	}
}
