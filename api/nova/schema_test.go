package nova

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

const edKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBrCjG9fCb9CCti5X/udSkBtPhQj1xLbHxE4m6K/RpWu ed\n"

func schemaMessage(err error) string {
	var he *httpError
	if errors.As(err, &he) {
		return he.message
	}
	return "<" + err.Error() + ">"
}

func TestDecodeCreate(t *testing.T) {
	v21, v22, v210, v292 := Version{2, 1}, Version{2, 2}, Version{2, 10}, Version{2, 92}
	long := strings.Repeat("n", 256)
	tests := []struct {
		name string
		v    Version
		body string
		want string // "" means valid
	}{
		{"generate", v21, `{"keypair": {"name": "gen-1"}}`, ""},
		{"import", v21, `{"keypair": {"name": "a b", "public_key": "x"}}`, ""},
		{"255 chars", v21, `{"keypair": {"name": "` + long[:255] + `"}}`, ""},
		{"type at 2.2", v22, `{"keypair": {"name": "x", "type": "x509"}}`, ""},
		{"user_id at 2.10", v210, `{"keypair": {"name": "x", "user_id": "bob"}}`, ""},
		{"at and dot at 2.92", v292, `{"keypair": {"name": "a.b@c", "public_key": "x"}}`, ""},
		{"not json", v21, `{not json`, "Malformed request body"},
		{"trailing garbage", v21, `{"keypair": {"name": "x"}} x`, "Malformed request body"},
		{"empty body", v21, ``, "None is not of type 'object'"},
		{"null", v21, `null`, "None is not of type 'object'"},
		{"array", v21, `[1, 2.5, true]`, "[1, 2.5, True] is not of type 'object'"},
		{"missing wrapper", v21, `{"name": "x"}`, "'keypair' is a required property"},
		{"extra top-level", v21, `{"keypair": {"name": "x"}, "extra": 1}`, "Additional properties are not allowed ('extra' was unexpected)"},
		{"keypair not object", v21, `{"keypair": "x"}`, "Invalid input for field/attribute keypair. Value: x. 'x' is not of type 'object'"},
		{"name not string", v21, `{"keypair": {"name": 42, "public_key": "k"}}`, "Invalid input for field/attribute name. Value: 42. 42 is not of type 'string'"},
		{"name null", v21, `{"keypair": {"name": null}}`, "Invalid input for field/attribute name. Value: None. None is not of type 'string'"},
		{"name empty", v21, `{"keypair": {"name": ""}}`, "Invalid input for field/attribute name. Value: . '' is too short"},
		{"name too long", v21, `{"keypair": {"name": "` + long + `"}}`, "Invalid input for field/attribute name. Value: " + long + ". '" + long + "' is too long"},
		{"leading space", v21, `{"keypair": {"name": " ab"}}`, "An invalid 'name' value was provided. The name must be: printable characters. Can not start or end with whitespace."},
		{"trailing space", v292, `{"keypair": {"name": "ab ", "public_key": "k"}}`, "An invalid 'name' value was provided. The name must be: printable characters. Can not start or end with whitespace."},
		{"control char", v21, `{"keypair": {"name": "a\u0001b"}}`, "An invalid 'name' value was provided. The name must be: printable characters. Can not start or end with whitespace."},
		{"slash", v21, `{"keypair": {"name": "bad/name"}}`, "An invalid 'name' value was provided. The name must be: Only expected characters: [_- 0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ]"},
		{"at before 2.92", v210, `{"keypair": {"name": "a@b"}}`, "An invalid 'name' value was provided. The name must be: Only expected characters: [_- 0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ]"},
		{"unicode", v21, `{"keypair": {"name": "\u043a\u043b\u044e\u0447"}}`, "An invalid 'name' value was provided. The name must be: Only expected characters: [_- 0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ]"},
		{"slash at 2.92", v292, `{"keypair": {"name": "a/b", "public_key": "k"}}`, "An invalid 'name' value was provided. The name must be: Only expected characters: [@._- 0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ]"},
		{"missing name", v21, `{"keypair": {"public_key": "k\n"}}`, `Invalid input for field/attribute keypair. Value: {'public_key': 'k\n'}. 'name' is a required property`},
		{"extra property", v21, `{"keypair": {"name": "extra", "public_key": "k", "color": "red"}}`, "Invalid input for field/attribute keypair. Value: {'name': 'extra', 'public_key': 'k', 'color': 'red'}. Additional properties are not allowed ('color' was unexpected)"},
		{"two extras", v21, `{"keypair": {"name": "x", "a": 1, "b": false}}`, "Invalid input for field/attribute keypair. Value: {'name': 'x', 'a': 1, 'b': False}. Additional properties are not allowed ('a', 'b' were unexpected)"},
		{"type at 2.1", v21, `{"keypair": {"name": "typed", "type": "ssh"}}`, "Invalid input for field/attribute keypair. Value: {'name': 'typed', 'type': 'ssh'}. Additional properties are not allowed ('type' was unexpected)"},
		{"bad type", v22, `{"keypair": {"name": "t", "type": "pgp"}}`, "Invalid input for field/attribute type. Value: pgp. 'pgp' is not one of ['ssh', 'x509']"},
		{"type not string", v22, `{"keypair": {"name": "t", "type": 1.5}}`, "Invalid input for field/attribute type. Value: 1.5. 1.5 is not of type 'string'"},
		{"public_key not string", v21, `{"keypair": {"name": "t", "public_key": ["k"]}}`, "Invalid input for field/attribute public_key. Value: ['k']. ['k'] is not of type 'string'"},
		{"user_id before 2.10", Version{2, 9}, `{"keypair": {"name": "x", "user_id": "bob"}}`, "Invalid input for field/attribute keypair. Value: {'name': 'x', 'user_id': 'bob'}. Additional properties are not allowed ('user_id' was unexpected)"},
		{"user_id not string", v210, `{"keypair": {"name": "x", "user_id": {}}}`, "Invalid input for field/attribute user_id. Value: {}. {} is not of type 'string'"},
		{"generate at 2.92", v292, `{"keypair": {"name": "gen-92"}}`, "Invalid input for field/attribute keypair. Value: {'name': 'gen-92'}. 'public_key' is a required property"},
		{"quote in value", v21, `{"keypair": {"name": "x", "k": "it's"}}`, `Invalid input for field/attribute keypair. Value: {'name': 'x', 'k': "it's"}. Additional properties are not allowed ('k' was unexpected)`},
		{"deep nesting", v21, strings.Repeat("[", 100) + strings.Repeat("]", 100), "Malformed request body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := decodeCreate([]byte(tt.body), tt.v, ModeNova)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if req.Name == "" {
					t.Fatal("no name decoded")
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted, want %q", tt.want)
			}
			if got := schemaMessage(err); got != tt.want {
				t.Fatalf("message\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestDecodeCreateValues(t *testing.T) {
	req, err := decodeCreate([]byte(`{"keypair": {"name": "n", "type": "x509", "public_key": "pk", "user_id": "bob"}}`), Version{2, 10}, ModeNova)
	if err != nil {
		t.Fatal(err)
	}
	if req.Name != "n" || req.Type != "x509" || req.PublicKey == nil || *req.PublicKey != "pk" || req.UserID != "bob" {
		t.Fatalf("%+v", req)
	}
	req, err = decodeCreate([]byte(`{"keypair": {"name": "n"}}`), Version{2, 2}, ModeNova)
	if err != nil || req.Type != "ssh" || req.PublicKey != nil {
		t.Fatalf("%+v %v", req, err)
	}
}

func TestDecodeListQuery(t *testing.T) {
	tests := []struct {
		name, query string
		v           Version
		wantLimit   int
		wantMarker  string
		wantUser    string
		want        string
	}{
		{"no paging before 2.35", "limit=1&marker=x", Version{2, 34}, 0, "", "", ""},
		{"user before 2.10 ignored", "user_id=bob", Version{2, 9}, 0, "", "", ""},
		{"user at 2.10", "user_id=bob", Version{2, 10}, 0, "", "bob", ""},
		{"default limit", "", Version{2, 35}, maxLimit, "", "", ""},
		{"limit", "limit=2&marker=m", Version{2, 35}, 2, "m", "", ""},
		{"limit zero", "limit=0", Version{2, 35}, 0, "", "", ""},
		{"limit capped", "limit=5000", Version{2, 35}, maxLimit, "", "", ""},
		{"limit huge", "limit=99999999999999999999999", Version{2, 35}, maxLimit, "", "", ""},
		{"last limit wins", "limit=5&limit=7", Version{2, 35}, 7, "", "", ""},
		{"negative", "limit=-1", Version{2, 35}, 0, "", "", "Invalid input for query parameters limit. Value: -1. '-1' does not match '^[0-9]*$'"},
		{"letters", "limit=abc", Version{2, 35}, 0, "", "", "Invalid input for query parameters limit. Value: abc. 'abc' does not match '^[0-9]*$'"},
		{"empty", "limit=", Version{2, 35}, 0, "", "", "Invalid input for query parameters limit. Value: . '' is too short"},
		{"unknown before 2.75", "foo=bar", Version{2, 74}, maxLimit, "", "", ""},
		{"unknown at 2.75", "foo=bar", Version{2, 75}, 0, "", "", "Additional properties are not allowed ('foo' was unexpected)"},
		{"two unknown", "b=1&a=2", Version{2, 93}, 0, "", "", "Additional properties are not allowed ('a', 'b' were unexpected)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, _ := url.ParseQuery(tt.query)
			lq, err := decodeListQuery(q, tt.v)
			if tt.want != "" {
				if err == nil || schemaMessage(err) != tt.want {
					t.Fatalf("got %v, want %q", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if lq.Page.Limit != tt.wantLimit || lq.Page.Marker != tt.wantMarker || lq.UserID != tt.wantUser {
				t.Fatalf("got %+v", lq)
			}
		})
	}
}

func TestDecodeItemQuery(t *testing.T) {
	q, _ := url.ParseQuery("user_id=bob&foo=1")
	if u, err := decodeItemQuery(q, Version{2, 74}); err != nil || u != "bob" {
		t.Fatalf("2.74: %q %v", u, err)
	}
	if _, err := decodeItemQuery(q, Version{2, 75}); err == nil || schemaMessage(err) != "Additional properties are not allowed ('foo' was unexpected)" {
		t.Fatalf("2.75: %v", err)
	}
	if u, _ := decodeItemQuery(q, Version{2, 9}); u != "" {
		t.Fatalf("2.9 honoured user_id %q", u)
	}
}

func TestNextHref(t *testing.T) {
	q, _ := url.ParseQuery("marker=old&limit=2&user_id=bob")
	got := nextHref("http://h:1", "", q, "a b@c")
	want := "http://h:1/v2.1/os-keypairs?limit=2&marker=a+b%40c&user_id=bob"
	if got != want {
		t.Fatalf("got %q\nwant %q", got, want)
	}
	q, _ = url.ParseQuery("limit=2")
	if got := nextHref("http://h:1", "p1", q, "k"); got != "http://h:1/v2.1/p1/os-keypairs?limit=2&marker=k" {
		t.Fatalf("got %q", got)
	}
}

func TestPyRepr(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`"a\nb"`, `'a\nb'`},
		{`"it's"`, `"it's"`},
		{`"it's \"q\""`, `'it\'s "q"'`},
		{`"back\\slash"`, `'back\\slash'`},
		{`"\u043a"`, `'к'`},
		{`"\u00a0"`, `'\xa0'`},
		{`1e20`, `1e+20`},
		{`1.0`, `1.0`},
		{`0.00001`, `1e-05`},
		{`-3`, `-3`},
		{`{"a": [null, true, {"b": "c"}]}`, `{'a': [None, True, {'b': 'c'}]}`},
		{`{"a": 1, "a": 2}`, `{'a': 2}`},
	} {
		v, err := decodeJSON([]byte(c.in))
		if err != nil {
			t.Fatalf("%s: %v", c.in, err)
		}
		if got := pyRepr(v); got != c.want {
			t.Errorf("pyRepr(%s) = %s, want %s", c.in, got, c.want)
		}
	}
}
