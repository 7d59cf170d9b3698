// Package publicurl says where clients reach keyhaven, for the links and
// catalogs every API dialect returns.
package publicurl

import (
	"net"
	"net/http"
	"strconv"
	"strings"
)

// Fallback is the base used when nothing better is known: no configured
// URL and a request that did not come through a net/http server (a test
// calling a handler directly).
const Fallback = "http://localhost"

// Base returns configured (without a trailing slash) when it is set, for a
// service behind a proxy. Otherwise it is the address the server accepted
// the request's connection on: the listening address, or with a wildcard
// listener (0.0.0.0, ::) the interface address the client reached. It is
// never taken from the request's Host header, which any client may forge
// to poison the service catalog and the links other clients are given.
func Base(r *http.Request, configured string) string {
	if configured != "" {
		return strings.TrimRight(configured, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	tcp, ok := r.Context().Value(http.LocalAddrContextKey).(*net.TCPAddr)
	if !ok {
		return Fallback
	}
	host := tcp.IP.String()
	if tcp.Zone != "" {
		host += "%25" + tcp.Zone // RFC 6874: the zone's "%" is escaped in a URL
	}
	return scheme + "://" + net.JoinHostPort(host, strconv.Itoa(tcp.Port))
}
