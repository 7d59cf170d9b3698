package nova

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/keyhaven/keyhaven/keypair"
)

// This file reproduces Nova's JSON-schema validation of os-keypairs: the
// same checks in the same order (jsonschema raises the first error it
// meets, walking each schema's keywords in definition order), with the same
// messages, because clients and operators match on them.

// createRequest is a validated create body.
type createRequest struct {
	Name      string
	Type      keypair.Type
	PublicKey *string
	UserID    string
	// Protection is Huawei's key_protection extension: keep the private
	// key in escrow.
	Protection *keypair.Protection
}

// keypairProps lists the properties of the "keypair" object a microversion
// accepts in mode m, in the order of Nova's schema.
func keypairProps(v Version, m Mode) []string {
	props := []string{"name"}
	if v.AtLeast(2, 2) {
		props = append(props, "type")
	}
	props = append(props, "public_key")
	// Huawei's ECS edition takes user_id at every microversion.
	if v.AtLeast(2, 10) || m == ModeHuawei {
		props = append(props, "user_id")
	}
	// Huawei's ECS edition accepts key_protection at every microversion.
	return append(props, "key_protection")
}

// fieldError formats a jsonschema error found at a named field.
func fieldError(field string, value any, msg string) error {
	return badRequest(fmt.Sprintf("Invalid input for field/attribute %s. Value: %s. %s", field, pyStr(value), msg))
}

func notOfType(value any, typ string) string {
	return fmt.Sprintf("%s is not of type '%s'", pyRepr(value), typ)
}

func additionalMsg(extras []string) string {
	quoted := make([]string, len(extras))
	for i, e := range extras {
		quoted[i] = pyQuote(e)
	}
	verb := "was"
	if len(extras) > 1 {
		verb = "were"
	}
	return fmt.Sprintf("Additional properties are not allowed (%s %s unexpected)", strings.Join(quoted, ", "), verb)
}

// decodeCreate parses and validates a create body at microversion v in
// mode m. body is nil when the request had no body at all.
func decodeCreate(body []byte, v Version, m Mode) (*createRequest, error) {
	var doc any
	if len(body) > 0 {
		var err error
		if doc, err = decodeJSON(body); err != nil {
			return nil, badRequest("Malformed request body")
		}
	}
	top, ok := doc.(*object)
	if !ok {
		return nil, badRequest(notOfType(doc, "object"))
	}
	if raw, ok := top.get("keypair"); ok {
		if err := validateKeypair(raw, v, m); err != nil {
			return nil, err
		}
	} else {
		return nil, badRequest("'keypair' is a required property")
	}
	if extras := extraKeys(top, []string{"keypair"}); len(extras) > 0 {
		return nil, badRequest(additionalMsg(extras))
	}
	kp := mustObject(top, "keypair")
	req := &createRequest{Type: keypair.TypeSSH}
	req.Name, _ = kp.vals["name"].(string)
	if t, ok := kp.vals["type"].(string); ok {
		req.Type = keypair.Type(t)
	}
	if pk, ok := kp.vals["public_key"].(string); ok {
		req.PublicKey = &pk
	}
	req.UserID, _ = kp.vals["user_id"].(string)
	if p, ok := kp.vals["key_protection"].(*object); ok {
		req.Protection = protectionOf(p)
	}
	return req, nil
}

// validateProtection checks key_protection with the same jsonschema
// wording as the rest of the body.
func validateProtection(val any) error {
	p, ok := val.(*object)
	if !ok {
		return fieldError("key_protection", val, notOfType(val, "object"))
	}
	if pk, ok := p.get("private_key"); ok {
		if _, isStr := pk.(string); !isStr {
			return fieldError("private_key", pk, notOfType(pk, "string"))
		}
	}
	enc, ok := p.get("encryption")
	if !ok {
		return fieldError("key_protection", p, "'encryption' is a required property")
	}
	e, isObj := enc.(*object)
	if !isObj {
		return fieldError("encryption", enc, notOfType(enc, "object"))
	}
	t, ok := e.get("type")
	if !ok {
		return fieldError("encryption", e, "'type' is a required property")
	}
	if err := validateEnum("type", t, []string{"default", "kms"}); err != nil {
		return err
	}
	for _, k := range []string{"kms_key_name", "kms_key_id"} {
		if v, ok := e.get(k); ok {
			if _, isStr := v.(string); !isStr {
				return fieldError(k, v, notOfType(v, "string"))
			}
		}
	}
	if extras := extraKeys(e, []string{"type", "kms_key_name", "kms_key_id"}); len(extras) > 0 {
		return fieldError("encryption", e, additionalMsg(extras))
	}
	if extras := extraKeys(p, []string{"private_key", "encryption"}); len(extras) > 0 {
		return fieldError("key_protection", p, additionalMsg(extras))
	}
	return nil
}

// protectionOf reads a validated key_protection object.
func protectionOf(p *object) *keypair.Protection {
	out := &keypair.Protection{}
	if pk, ok := p.vals["private_key"].(string); ok {
		out.PrivateKey = &pk
	}
	e := p.vals["encryption"].(*object)
	out.Encryption.Type, _ = e.vals["type"].(string)
	out.Encryption.KMSKeyName, _ = e.vals["kms_key_name"].(string)
	out.Encryption.KMSKeyID, _ = e.vals["kms_key_id"].(string)
	return out
}

func mustObject(o *object, k string) *object {
	v, _ := o.get(k)
	return v.(*object)
}

func extraKeys(o *object, allowed []string) []string {
	var extras []string
	for _, k := range o.keys {
		if !slices.Contains(allowed, k) {
			extras = append(extras, k)
		}
	}
	return extras
}

func validateKeypair(raw any, v Version, m Mode) error {
	kp, ok := raw.(*object)
	if !ok {
		return fieldError("keypair", raw, notOfType(raw, "object"))
	}
	props := keypairProps(v, m)
	for _, p := range props {
		val, present := kp.get(p)
		if !present {
			continue
		}
		var err error
		switch p {
		case "name":
			if m == ModeHuawei {
				err = validateHuaweiName(val)
			} else {
				err = validateName(val, v)
			}
		case "type":
			err = validateEnum("type", val, []string{"ssh", "x509"})
		case "key_protection":
			err = validateProtection(val)
		default:
			if _, ok := val.(string); !ok {
				err = fieldError(p, val, notOfType(val, "string"))
			}
		}
		if err != nil {
			return err
		}
	}
	required := []string{"name"}
	if v.AtLeast(2, 92) {
		required = append(required, "public_key")
	}
	for _, r := range required {
		if _, ok := kp.get(r); !ok {
			return fieldError("keypair", kp, fmt.Sprintf("%s is a required property", pyQuote(r)))
		}
	}
	if extras := extraKeys(kp, props); len(extras) > 0 {
		return fieldError("keypair", kp, additionalMsg(extras))
	}
	return nil
}

func validateEnum(field string, val any, enum []string) error {
	s, ok := val.(string)
	if !ok {
		return fieldError(field, val, notOfType(val, "string"))
	}
	if !slices.Contains(enum, s) {
		quoted := make([]string, len(enum))
		for i, e := range enum {
			quoted[i] = pyQuote(e)
		}
		return fieldError(field, val, fmt.Sprintf("%s is not one of [%s]", pyQuote(s), strings.Join(quoted, ", ")))
	}
	return nil
}

// Nova's keypair_name_20 and keypair_name_292 formats: the characters a name
// may use, listed in Nova's order because the message prints them.
const (
	nameChars20  = "_- 0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	nameChars292 = "@._- 0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
)

// validateName applies parameter_types.keypair_name_special_chars(_292):
// allOf[name (type, length, printable without outer whitespace), the
// keypair charset].
func validateName(val any, v Version) error {
	s, ok := val.(string)
	if !ok {
		return fieldError("name", val, notOfType(val, "string"))
	}
	n := utf8.RuneCountInString(s)
	if n < 1 {
		return fieldError("name", val, pyQuote(s)+" is too short")
	}
	if n > keypair.MaxNameLength {
		return fieldError("name", val, pyQuote(s)+" is too long")
	}
	if !printableName(s) {
		return badRequest("An invalid 'name' value was provided. The name must be: printable characters. Can not start or end with whitespace.")
	}
	chars := nameChars20
	if v.AtLeast(2, 92) {
		chars = nameChars292
	}
	for _, r := range s {
		if !strings.ContainsRune(chars, r) {
			return badRequest(fmt.Sprintf("An invalid 'name' value was provided. The name must be: Only expected characters: [%s]", chars))
		}
	}
	return nil
}

// printableName is Nova's valid_name_regex: printable characters only, and
// no whitespace at either end.
func printableName(s string) bool {
	for _, r := range s {
		if unicode.In(r, unicode.Cc, unicode.Cf, unicode.Cs, unicode.Co, unicode.Zl, unicode.Zp) || r == utf8.RuneError {
			return false
		}
		if !unicode.IsPrint(r) && !unicode.Is(unicode.Zs, r) {
			return false
		}
	}
	first, _ := utf8.DecodeRuneInString(s)
	last, _ := utf8.DecodeLastRuneInString(s)
	return !unicode.IsSpace(first) && !unicode.IsSpace(last)
}

// listQuery is the validated query of a list request.
type listQuery struct {
	UserID string
	Page   keypair.Page
}

// maxLimit is Nova's CONF.api.max_limit: the largest page it returns.
const maxLimit = 1000

var limitRE = regexp.MustCompile(`^[0-9]*$`)

// last returns the last value of a query parameter, which is the one webob's
// MultiDict, and so Nova, uses.
func last(q url.Values, k string) (string, bool) {
	vs, ok := q[k]
	if !ok || len(vs) == 0 {
		return "", false
	}
	return vs[len(vs)-1], true
}

// checkQueryKeys refuses unknown query parameters from 2.75 on.
func checkQueryKeys(q url.Values, v Version, allowed ...string) error {
	if !v.AtLeast(2, 75) {
		return nil
	}
	var extras []string
	for k := range q {
		if !slices.Contains(allowed, k) {
			extras = append(extras, k)
		}
	}
	if len(extras) == 0 {
		return nil
	}
	slices.Sort(extras)
	return badRequest(additionalMsg(extras))
}

// decodeListQuery validates a list request's query at microversion v.
func decodeListQuery(q url.Values, v Version) (*listQuery, error) {
	lq := &listQuery{}
	if v.AtLeast(2, 10) {
		lq.UserID, _ = last(q, "user_id")
	}
	if !v.AtLeast(2, 35) {
		return lq, nil
	}
	for _, s := range q["limit"] {
		switch {
		case !limitRE.MatchString(s):
			return nil, badRequest(fmt.Sprintf("Invalid input for query parameters limit. Value: %s. %s does not match '^[0-9]*$'", s, pyQuote(s)))
		case s == "":
			return nil, badRequest("Invalid input for query parameters limit. Value: . '' is too short")
		}
	}
	if err := checkQueryKeys(q, v, "user_id", "limit", "marker"); err != nil {
		return nil, err
	}
	lq.Page.Limit = maxLimit
	if s, ok := last(q, "limit"); ok {
		// Digits only, so a parse error can only mean "too large to
		// matter": Python's int has no limit, and the cap applies.
		if n, err := strconv.Atoi(s); err == nil && n < maxLimit {
			lq.Page.Limit = n
		}
	}
	lq.Page.Marker, _ = last(q, "marker")
	return lq, nil
}

// decodeItemQuery validates a show or delete request's query and returns
// the user the request names, if any.
func decodeItemQuery(q url.Values, v Version) (string, error) {
	if err := checkQueryKeys(q, v, "user_id"); err != nil {
		return "", err
	}
	if !v.AtLeast(2, 10) {
		return "", nil
	}
	u, _ := last(q, "user_id")
	return u, nil
}
