package aksk

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/keyhaven/keyhaven/identity"
)

// canonicalRequest builds the canonical request the SDK signed:
//
//	METHOD \n URI \n QUERY \n HEADERS (each line ending in \n) \n SIGNED;HEADERS \n PAYLOAD-HASH
func canonicalRequest(r *http.Request, signed []string, payloadHash string) (string, error) {
	uri, err := canonicalURI(r.URL.EscapedPath())
	if err != nil {
		return "", err
	}
	query, err := canonicalQuery(r.URL.RawQuery)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.Grow(len(r.Method) + len(uri) + len(query) + 64*len(signed) + 128)
	b.WriteString(r.Method)
	b.WriteByte('\n')
	b.WriteString(uri)
	b.WriteByte('\n')
	b.WriteString(query)
	b.WriteByte('\n')
	writeCanonicalHeaders(&b, r, signed)
	b.WriteByte('\n')
	b.WriteString(strings.Join(signed, ";"))
	b.WriteByte('\n')
	b.WriteString(payloadHash)
	return b.String(), nil
}

// canonicalURI mirrors the SDK's canonicalURI. The SDK splits the unescaped
// request path at '/' and escapes every segment with escape; Go's client then
// sends the path with its own, lighter, escaping (a space becomes %20, '@'
// stays). Splitting the escaped path as received and unescaping each segment
// recovers the SDK's segments exactly, and keeps an escaped "%2F" inside a
// segment distinct from a real '/'. The result always ends in '/'.
func canonicalURI(escapedPath string) (string, error) {
	segs := strings.Split(escapedPath, "/")
	for i, s := range segs {
		u, err := url.PathUnescape(s)
		if err != nil {
			return "", identity.Unauthenticated("malformed request path")
		}
		segs[i] = escape(u)
	}
	p := strings.Join(segs, "/")
	if !strings.HasSuffix(p, "/") {
		p += "/"
	}
	return p, nil
}

// canonicalQuery mirrors the SDK's canonicalQueryString: every parameter as
// escape(key)=escape(value), sorted by key and, for a repeated key, by
// value, joined by '&'. A parameter without '=' has the empty value (the SDK
// sends empty values that way). Values are decoded as url.ParseQuery decodes
// them ('+' is a space), so the signature covers what handlers read.
func canonicalQuery(rawQuery string) (string, error) {
	if rawQuery == "" {
		return "", nil
	}
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return "", identity.Unauthenticated("malformed query string")
	}
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		ek := escape(k)
		vs := q[k]
		slices.Sort(vs)
		for _, v := range vs {
			if b.Len() > 0 {
				b.WriteByte('&')
			}
			b.WriteString(ek)
			b.WriteByte('=')
			b.WriteString(escape(v))
		}
	}
	return b.String(), nil
}

// writeCanonicalHeaders writes "name:value\n" for every value of every signed
// header, values sorted and trimmed, as the SDK does. The host header comes
// from r.Host: Go's server moves it out of r.Header. A signed header the
// request lacks contributes no line, as in the SDK.
func writeCanonicalHeaders(b *strings.Builder, r *http.Request, signed []string) {
	for _, name := range signed {
		var vals []string
		if name == "host" {
			vals = []string{r.Host}
		} else {
			vals = slices.Clone(r.Header.Values(name))
			slices.Sort(vals)
		}
		for _, v := range vals {
			b.WriteString(name)
			b.WriteByte(':')
			b.WriteString(strings.TrimSpace(v))
			b.WriteByte('\n')
		}
	}
}

// escape percent-encodes every byte of s except A-Z a-z 0-9 - _ . ~ with
// upper-case hex digits, like the SDK's escape.
func escape(s string) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if shouldEscape(s[i]) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	const hexDigits = "0123456789ABCDEF"
	t := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if shouldEscape(c) {
			t = append(t, '%', hexDigits[c>>4], hexDigits[c&15])
		} else {
			t = append(t, c)
		}
	}
	return string(t)
}

func shouldEscape(c byte) bool {
	switch {
	case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		return false
	case c == '-', c == '_', c == '.', c == '~':
		return false
	}
	return true
}
