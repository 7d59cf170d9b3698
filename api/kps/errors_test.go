package kps

import (
	"flag"
	"os"
	"testing"
)

var update = flag.Bool("update", false, "rewrite docs/errors.md from the error table")

// TestErrorsDoc keeps docs/errors.md equal to the error table.
func TestErrorsDoc(t *testing.T) {
	const path = "../../docs/errors.md"
	want := ErrorsDoc()
	if *update {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil || string(got) != want {
		t.Fatalf("docs/errors.md is stale: run go test ./api/kps -run TestErrorsDoc -update")
	}
	seen := map[string]bool{}
	for _, c := range Codes {
		if seen[c.Code] || (c.Status < 400 && !isTaskErrorCode(c)) || c.Meaning == "" {
			t.Errorf("bad or duplicate code %+v", c)
		}
		seen[c.Code] = true
	}
}

// isTaskErrorCode reports whether c is a task_error_code, the only codes
// without an HTTP status.
func isTaskErrorCode(c ErrorCode) bool {
	for _, t := range taskErrorCodes {
		if t == c {
			return c.Status == 0
		}
	}
	return false
}
