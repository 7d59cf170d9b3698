package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestKMSCommandLocalKeys drives `keyhaven kms create-key` and `rotate` on
// the embedded defaults (no HSM): bare and local/ names make local keys,
// and the errors are plain sentences.
func TestKMSCommandLocalKeys(t *testing.T) {
	dir := t.TempDir()
	env := func(string) string { return "" }
	for _, tc := range []struct {
		args    []string
		want    string // in the output, or in the error when wantErr
		wantErr bool
	}{
		{[]string{"create-key", "demo"}, "created local/demo@v1", false},
		{[]string{"create-key", "local/testName"}, "created local/testName@v1", false},
		{[]string{"create-key", "demo"}, `key "demo" already exists`, true},
		{[]string{"create-key", "kps/default"}, `key "kps/default" already exists`, true},
		{[]string{"create-key", "pkcs11/kek"}, "backend pkcs11 is not configured", true},
		{[]string{"create-key", "bad name"}, "invalid key name", true},
		{[]string{"create-key", ""}, "want NAME", true},
		{[]string{"create-key"}, "want NAME", true},
		{[]string{"rotate"}, "local/master@v2", false},
		{[]string{"rotate", "demo"}, "local/demo@v2", false},
		{[]string{"rotate", "local/demo"}, "local/demo@v3", false},
		{[]string{"rotate", "kps/default"}, "local/kps/default@v2", false},
		{[]string{"rotate", "nope"}, `key "nope" not found`, true},
		{[]string{"rotate", "a", "b"}, "at most one", true},
	} {
		var out bytes.Buffer
		err := run(context.Background(), append([]string{"kms", "--data-dir", dir}, tc.args...), env, &out, &out)
		got := out.String()
		if err != nil {
			got = err.Error()
		}
		if (err != nil) != tc.wantErr || !strings.Contains(got, tc.want) {
			t.Errorf("kms %s: %q, %v; want %q", strings.Join(tc.args, " "), out.String(), err, tc.want)
		}
	}
}
