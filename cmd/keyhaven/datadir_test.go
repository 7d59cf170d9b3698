package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDataDirPermissions starts keyhaven on data directories of several
// modes: one of ours readable by others is tightened to 0700 with a
// warning in the log and on stderr; a private or new one starts quietly;
// one owned by another user is left alone with a warning.
func TestDataDirPermissions(t *testing.T) {
	for _, tt := range []struct {
		name     string
		mode     os.FileMode // 0: the directory does not exist yet
		otherUID bool
		want     os.FileMode
		warning  string
	}{
		{"ours, 0755", 0o755, false, 0o700, "had mode 0755 (group or others could read its secrets); it is now 0700"},
		{"ours, 0750", 0o750, false, 0o700, "had mode 0750"},
		{"ours, 0700", 0o700, false, 0o700, ""},
		{"new", 0, false, 0o700, ""},
		{"another user's, 0755", 0o755, true, 0o755, "is not owned by this user, so it was left as is"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			data := filepath.Join(t.TempDir(), "data")
			if tt.mode != 0 {
				if err := os.Mkdir(data, 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(data, tt.mode); err != nil { // not subject to the umask
					t.Fatal(err)
				}
			}
			if tt.otherUID {
				if os.Geteuid() != 0 {
					t.Skip("giving a directory to another user needs root")
				}
				if err := os.Chown(data, 65534, 65534); err != nil {
					t.Fatal(err)
				}
			}
			var logs syncBuffer
			startServerLog(t, &logs, testTokens, "--data-dir", data)
			fi, err := os.Stat(data)
			if err != nil {
				t.Fatal(err)
			}
			if got := fi.Mode().Perm(); got != tt.want {
				t.Fatalf("mode %04o, want %04o", got, tt.want)
			}
			out := logs.String()
			if tt.warning == "" {
				if strings.Contains(out, "data directory") {
					t.Fatalf("unexpected warning:\n%s", out)
				}
				return
			}
			if !strings.Contains(out, "keyhaven: warning: data directory "+data) || !strings.Contains(out, tt.warning) {
				t.Fatalf("no stderr warning %q:\n%s", tt.warning, out)
			}
			if !strings.Contains(out, "level=WARN") {
				t.Fatalf("no log warning:\n%s", out)
			}
		})
	}
}

// TestTokensFileModeWarned: a tokens file that group or others can read
// (its lines are bearer tokens) is used, with a warning at start.
func TestTokensFileModeWarned(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens")
	if err := os.WriteFile(path, []byte(testTokens), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	var logb syncBuffer
	startServerLog(t, &logb, "", "--tokens-file", path)
	if !strings.Contains(logb.String(), "tokens file is readable by group or others") {
		t.Fatalf("no warning for a tokens file of mode 0644:\n%s", logb.String())
	}
}
