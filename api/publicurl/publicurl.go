// Package publicurl says where clients reach keyhaven, for the links and
// catalogs every API dialect returns.
package publicurl

import (
	"net/http"
	"strings"
)

// Base returns configured (without a trailing slash) when it is set, for a
// service behind a proxy, and otherwise the scheme and host the request
// came to.
func Base(r *http.Request, configured string) string {
	if configured != "" {
		return strings.TrimRight(configured, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}
