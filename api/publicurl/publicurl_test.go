package publicurl

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestBase(t *testing.T) {
	at := func(addr net.Addr) *http.Request {
		r := httptest.NewRequest("GET", "http://evil.example:666/v2.1", nil)
		return r.WithContext(context.WithValue(r.Context(), http.LocalAddrContextKey, addr))
	}
	v4 := &net.TCPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 8774}
	tests := []struct {
		name, configured string
		r                *http.Request
		tls              bool
		want             string
	}{
		{"configured", "https://keys.example/", at(v4), false, "https://keys.example"},
		{"local address, not Host", "", at(v4), false, "http://10.0.0.1:8774"},
		{"TLS", "", at(v4), true, "https://10.0.0.1:8774"},
		{"IPv6", "", at(&net.TCPAddr{IP: net.ParseIP("::1"), Port: 8774}), false, "http://[::1]:8774"},
		{"IPv6 zone", "", at(&net.TCPAddr{IP: net.ParseIP("fe80::1"), Port: 80, Zone: "eth0"}), false, "http://[fe80::1%25eth0]:80"},
		{"no connection", "", httptest.NewRequest("GET", "http://evil.example/", nil), false, Fallback},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.tls {
				tt.r.TLS = &tls.ConnectionState{}
			}
			if got := Base(tt.r, tt.configured); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}
