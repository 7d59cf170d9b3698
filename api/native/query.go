package native

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/keyhaven/keyhaven/keypair"
)

// query parses the query string and refuses parameters not in allowed, so
// that a misspelt filter is an error rather than silently ignored.
func query(r *http.Request, allowed ...string) (url.Values, error) {
	qs, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, invalid("The query string is malformed.")
	}
	for k := range qs {
		if !slices.Contains(allowed, k) {
			if len(allowed) == 0 {
				return nil, invalid("This operation takes no query parameters, not %q.", k)
			}
			return nil, invalid("The query parameter %q is unknown; this operation takes %s.", k, strings.Join(allowed, ", "))
		}
	}
	for _, k := range allowed {
		if len(qs[k]) > 1 && k != "tag" && k != "tag-key" {
			return nil, invalid("The query parameter %q is given more than once.", k)
		}
	}
	return qs, nil
}

// intParam reads an integer parameter from 1 to max, def when absent.
func intParam(qs url.Values, name string, def, maxV int) (int, error) {
	if !qs.Has(name) {
		return def, nil
	}
	n, err := strconv.Atoi(qs.Get(name))
	if err != nil || n < 1 || n > maxV {
		return 0, invalid("%s must be an integer from 1 to %d.", name, maxV)
	}
	return n, nil
}

// listFilter reads the filters of a key pair list.
func listFilter(qs url.Values) (keypair.NativeFilter, error) {
	var f keypair.NativeFilter
	// Each tag condition is a subquery; a key pair has at most MaxTags
	// tags, so more conditions could match nothing anyway.
	if n := len(qs["tag"]) + len(qs["tag-key"]); n > keypair.MaxTags {
		return f, invalid("At most %d tag and tag-key filters, not %d.", keypair.MaxTags, n)
	}
	for _, s := range qs["tag"] {
		t, err := keypair.ParseTag(s)
		if err != nil {
			return f, err
		}
		f.Tags = append(f.Tags, t)
	}
	for _, k := range qs["tag-key"] {
		if err := keypair.ValidateTagKey(k); err != nil {
			return f, err
		}
		f.TagKeys = append(f.TagKeys, k)
	}
	if t := qs.Get("type"); t != "" {
		kt, ok := keypair.KeyTypes[t]
		if !ok {
			return f, invalid("The type %q is not one of %s.", t, strings.Join(keypair.KeyTypeNames(), ", "))
		}
		f.Algorithm = kt.Algorithm
	}
	if fp := qs.Get("fingerprint"); fp != "" {
		switch {
		case strings.HasPrefix(fp, "SHA256:"):
			if len(fp) != len("SHA256:")+43 {
				return f, invalid("A SHA-256 fingerprint is SHA256: and 43 characters of base64, as ssh-keygen -l prints it.")
			}
			f.FingerprintSHA256 = fp
		default:
			md := strings.ToLower(strings.TrimPrefix(fp, "MD5:"))
			if len(md) != 47 {
				return f, invalid("A fingerprint is SHA256:… or the 16 colon-separated hex pairs of MD5 (with or without MD5:).")
			}
			f.Fingerprint = md
		}
	}
	if p := qs.Get("name-prefix"); p != "" {
		if len(p) > keypair.MaxNameLength*4 || !validText(p) {
			return f, invalid("name-prefix must be text of at most %d characters.", keypair.MaxNameLength)
		}
		f.NamePrefix = p
	}
	return f, nil
}

// validText reports whether s is UTF-8 without NUL.
func validText(s string) bool {
	return !strings.ContainsRune(s, 0) && strings.ToValidUTF8(s, "\uFFFD") == s
}

// cursorVersion starts every cursor, so that its format can change.
const cursorVersion = "c1."

// cursorSum checks a cursor's integrity: a cursor is opaque, and one
// that was cut or altered is refused rather than read as another place.
func cursorSum(name string, id int64) string {
	s := sha256.Sum256([]byte("keyhaven cursor\x00" + name + "\x00" + strconv.FormatInt(id, 10)))
	return base64.RawURLEncoding.EncodeToString(s[:8])
}

// encodeCursor makes the cursor of the page after p: version, the name in
// base64url, the id, the checksum.
func encodeCursor(p keypair.Position) string {
	return cursorVersion + base64.RawURLEncoding.EncodeToString([]byte(p.Name)) + "." + strconv.FormatInt(p.ID, 10) + "." + cursorSum(p.Name, p.ID)
}

// decodeCursor reads a cursor made by encodeCursor, or fails with 400.
func decodeCursor(c string) (keypair.Position, error) {
	bad := invalid("The cursor is malformed; pass next_cursor from the previous page exactly as it came.")
	parts := strings.Split(strings.TrimPrefix(c, cursorVersion), ".")
	if !strings.HasPrefix(c, cursorVersion) || len(parts) != 3 {
		return keypair.Position{}, bad
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(parts[0])
	if err != nil || len(b) == 0 || keypair.ValidateName(string(b)) != nil || !validText(string(b)) {
		return keypair.Position{}, bad
	}
	id, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || id < 1 || strconv.FormatInt(id, 10) != parts[1] || cursorSum(string(b), id) != parts[2] {
		return keypair.Position{}, bad
	}
	return keypair.Position{Name: string(b), ID: id}, nil
}
