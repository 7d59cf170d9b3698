package native

import (
	"slices"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/keyhaven/keyhaven/keypair"
)

// TestOpenAPIDocument loads the committed document with kin-openapi and
// checks it is a valid OpenAPI 3.1 document naming every key type and
// audit action the code knows.
func TestOpenAPIDocument(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromData(OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(t.Context()); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Fatalf("openapi %q", doc.OpenAPI)
	}
	enum := func(schema string, prop string) []string {
		var out []string
		for _, v := range doc.Components.Schemas[schema].Value.Properties[prop].Value.Enum {
			out = append(out, v.(string))
		}
		return out
	}
	if got := enum("CreateKeyPair", "type"); !slices.Equal(got, keypair.KeyTypeNames()) {
		t.Errorf("CreateKeyPair.type enum %v, want %v", got, keypair.KeyTypeNames())
	}
	if got := enum("CreateKeyPair", "private_key_format"); !slices.Equal(got, keypair.FormatNames()) {
		t.Errorf("CreateKeyPair.private_key_format enum %v, want %v", got, keypair.FormatNames())
	}
	var actions []string
	for _, a := range keypair.AuditActions {
		actions = append(actions, string(a))
	}
	var got []string
	for _, v := range doc.Paths.Find("/audit").Get.Parameters.GetByInAndName("query", "action").Schema.Value.Enum {
		got = append(got, v.(string))
	}
	if !slices.Equal(got, actions) {
		t.Errorf("audit action enum %v, want %v", got, actions)
	}
}

// TestRoute checks which operation each path and method reach.
func TestRoute(t *testing.T) {
	for _, c := range []struct {
		method string
		segs   []string
		name   string
		allow  string
		ok     bool
	}{
		{"GET", []string{"keypairs"}, "", "", true},
		{"PUT", []string{"keypairs"}, "", "GET, POST", false},
		{"GET", []string{"keypairs", "k"}, "k", "", true},
		{"POST", []string{"keypairs", "k:rotate"}, "k", "", true},
		{"GET", []string{"keypairs", "k:rotate"}, "k:rotate", "", true},
		{"POST", []string{"keypairs", ":rotate"}, "", "GET, PATCH, DELETE", false},
		{"GET", []string{"keypairs", "k", "private-key"}, "k", "", true},
		{"POST", []string{"keypairs", "k", "private-key"}, "", "GET, DELETE", false},
		{"GET", []string{"keypairs", ""}, "", "", false},
		{"GET", []string{"audit"}, "", "", true},
		{"GET", []string{"nothing"}, "", "", false},
	} {
		op, name, allow := route(c.method, c.segs)
		if (op != nil) != c.ok || name != c.name || allow != c.allow {
			t.Errorf("route(%s %v) = %v, %q, %q", c.method, c.segs, op != nil, name, allow)
		}
	}
}

// TestCursor round-trips cursors and refuses altered ones.
func TestCursor(t *testing.T) {
	for _, name := range []string{"a", "web-1", "ключ", "x y"} {
		p := keypair.Position{Name: name, ID: 42}
		got, err := decodeCursor(encodeCursor(p))
		if err != nil || got != p {
			t.Errorf("cursor of %+v: %+v, %v", p, got, err)
		}
	}
	good := encodeCursor(keypair.Position{Name: "web-1", ID: 7})
	for _, c := range []string{"", "web-1", "c1.", "c1.d2ViLTE", "c1.d2ViLTE.7", "c1.d2ViLTE.7.AAAAAAAAAAA", good + "x", "c2" + good[2:],
		"c1.d2ViLTE=.7." + cursorSum("web-1", 7), "c1.d2ViLTE.07." + cursorSum("web-1", 7), "c1.d2ViLTE.8." + cursorSum("web-1", 7),
		encodeCursor(keypair.Position{Name: "..", ID: 1}), encodeCursor(keypair.Position{Name: " a", ID: 1}),
		encodeCursor(keypair.Position{Name: "a", ID: 0})} {
		if _, err := decodeCursor(c); ProblemOf(err).Code != string(keypair.EINVALID) || ProblemOf(err).Status != 400 {
			t.Errorf("cursor %q accepted or not a 400: %v", c, err)
		}
	}
}
