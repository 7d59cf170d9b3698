package publicurl

import (
	"crypto/tls"
	"net/http/httptest"
	"testing"
)

func TestBase(t *testing.T) {
	r := httptest.NewRequest("GET", "http://10.0.0.1:8774/v2.1", nil)
	if got := Base(r, ""); got != "http://10.0.0.1:8774" {
		t.Fatal(got)
	}
	if got := Base(r, "https://keys.example/"); got != "https://keys.example" {
		t.Fatal(got)
	}
	r.TLS = &tls.ConnectionState{}
	if got := Base(r, ""); got != "https://10.0.0.1:8774" {
		t.Fatal(got)
	}
}
