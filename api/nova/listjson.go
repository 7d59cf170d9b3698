package nova

import (
	"encoding/json"
	"net/http"
)

// The list page is the largest answer Nova sends, and clients ask for it
// most: encoding/json's reflection over 50 items cost a third of a cached
// page's time. appendList writes the very bytes json.Marshal(lv) would
// (FuzzListJSON holds it to that), field by field.

// appendList appends the JSON of lv to b.
func appendList(b []byte, lv listView) []byte {
	b = append(b, `{"keypairs":[`...)
	for i, e := range lv.Keypairs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"keypair":{"name":`...)
		b = appendString(b, e.Keypair.Name)
		b = append(b, `,"public_key":`...)
		b = appendString(b, e.Keypair.PublicKey)
		b = append(b, `,"fingerprint":`...)
		b = appendString(b, e.Keypair.Fingerprint)
		if e.Keypair.Type != "" {
			b = append(b, `,"type":`...)
			b = appendString(b, e.Keypair.Type)
		}
		b = append(b, `}}`...)
	}
	b = append(b, ']')
	if len(lv.Links) > 0 {
		b = append(b, `,"keypairs_links":[`...)
		for i, l := range lv.Links {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"rel":`...)
			b = appendString(b, l.Rel)
			b = append(b, `,"href":`...)
			b = appendString(b, l.Href)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

// plain marks the bytes a JSON string carries as they are: printable
// ASCII but the quote, the backslash and HTML's <, > and &, which
// encoding/json escapes.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// appendString appends s as a JSON string, escaped as encoding/json
// escapes it (HTML characters included); a string with anything to escape
// is left to encoding/json.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if !plain[s[i]] {
			enc, _ := json.Marshal(s) // a string always marshals
			return append(b, enc...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// writeList writes a list page as writeJSON would, in a buffer it reuses:
// the ResponseWriter has copied or sent the bytes when Write returns.
func (h *Handler) writeList(w http.ResponseWriter, lv listView) {
	buf, _ := h.pages.Get().(*[]byte)
	if buf == nil {
		buf = new([]byte)
	}
	body := appendList((*buf)[:0], lv)
	writeBody(w, http.StatusOK, "application/json", body)
	if cap(body) <= maxPooledPage {
		*buf = body
		h.pages.Put(buf)
	}
}

// maxPooledPage is the largest list buffer kept for reuse; a longer list
// (Nova without a limit lists everything) is left to the collector.
const maxPooledPage = 256 << 10
