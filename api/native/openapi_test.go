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
