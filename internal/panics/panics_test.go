package panics

import (
	"strings"
	"testing"
)

func TestDescribe(t *testing.T) {
	runtimeErr := func() (v any) {
		defer func() { v = recover() }()
		var m map[string]int
		m["x"] = 1 // assignment to a nil map
		return nil
	}()
	for _, c := range []struct {
		name string
		v    any
		want string
		not  string
	}{
		{"runtime error", runtimeErr, "assignment to entry in nil map", ""},
		{"string", "password=hunter2", "type string", "hunter2"},
		{"error", errString("key: -----BEGIN OPENSSH PRIVATE KEY-----"), "panics.errString", "PRIVATE KEY"},
	} {
		got := Describe(c.v)
		if !strings.Contains(got, c.want) || (c.not != "" && strings.Contains(got, c.not)) {
			t.Errorf("%s: Describe = %q, want it to contain %q and not %q", c.name, got, c.want, c.not)
		}
	}
}

type errString string

func (e errString) Error() string { return string(e) }
