package native

import (
	"testing"

	"github.com/keyhaven/keyhaven/keypair"
)

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

// TestDuplicateKeys refuses members given twice at any depth, and only
// those.
func TestDuplicateKeys(t *testing.T) {
	for body, ok := range map[string]bool{
		`{"a": 1, "b": {"a": 2}, "c": [{"a": 1}, {"a": 2}]}`:     true,
		`{"tags": {"k": "1", "j": "1"}, "x": [1, [2, {}], "k"]}`: true,
		`{"a": 1, "a": 2}`:                   false,
		`{"t": {"k": "1", "k": "2"}}`:        false,
		`[{"x": {"y": [{"z": 1, "z": 1}]}}]`: false,
		`{"a": {"b": 1}, "a": {"b": 1}}`:     false,
	} {
		if err := duplicateKeys([]byte(body)); (err == nil) != ok {
			t.Errorf("duplicateKeys(%s) = %v", body, err)
		}
	}
}
