package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyhaven/keyhaven/backup"
	"github.com/keyhaven/keyhaven/store/sqlite"
)

// takeBackup starts keyhaven, stops it and returns a backup of its data.
func takeBackup(t *testing.T, flags ...string) (archive string, srv *testServer) {
	t.Helper()
	srv = startIdentityServer(t, flags...)
	archive = filepath.Join(t.TempDir(), "keyhaven.khb")
	if out, err := runKeyhaven(backupEnv, "backup", "--to", archive, "--data-dir", srv.cfg.DataDir, "--database", srv.cfg.Database); err != nil {
		t.Fatalf("backup: %v\n%s", err, out)
	}
	return archive, srv
}

// TestRestoreRefusesDamage: a damaged archive or a wrong passphrase is
// refused with a clear message and nothing is written, neither the data
// directory nor a temporary directory beside it.
func TestRestoreRefusesDamage(t *testing.T) {
	archive, _ := takeBackup(t)
	data, err := os.ReadFile(archive)
	if err != nil {
		t.Fatal(err)
	}
	flipped := append([]byte(nil), data...)
	flipped[len(flipped)/2] ^= 0x10
	wrongPass := func(k string) string {
		if k == passphraseEnv {
			return "not the passphrase"
		}
		return ""
	}
	cases := []struct {
		name   string
		data   []byte
		getenv func(string) string
		want   string
	}{
		{"flipped byte in the middle", flipped, backupEnv, "damaged"},
		{"truncated", data[:len(data)*2/3], backupEnv, "damaged or truncated"},
		{"last bytes cut", data[:len(data)-1], backupEnv, "damaged or truncated"},
		{"wrong passphrase", data, wrongPass, "wrong passphrase"},
		{"no passphrase", data, func(string) string { return "" }, "no passphrase"},
		{"not an archive", []byte("SQLite format 3\x00"), backupEnv, "not a keyhaven backup"},
	}
	for _, tc := range cases {
		for _, existing := range []bool{false, true} {
			t.Run(tc.name, func(t *testing.T) {
				parent := t.TempDir()
				bad := filepath.Join(parent, "bad.khb")
				if err := os.WriteFile(bad, tc.data, 0o600); err != nil {
					t.Fatal(err)
				}
				dir := filepath.Join(parent, "data")
				if existing {
					if err := os.Mkdir(dir, 0o700); err != nil {
						t.Fatal(err)
					}
				}
				out, err := runKeyhaven(tc.getenv, "restore", "--from", bad, "--data-dir", dir)
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("restore of a bad archive: err %v, want %q\n%s", err, tc.want, out)
				}
				if strings.Contains(err.Error(), backupPass) {
					t.Fatalf("the error reveals the passphrase: %v", err)
				}
				entries, _ := os.ReadDir(parent)
				if len(entries) != 1+btoi(existing) {
					t.Fatalf("restore left files behind: %v", entries)
				}
				if existing {
					if in, _ := os.ReadDir(dir); len(in) != 0 {
						t.Fatalf("restore wrote into %s: %v", dir, in)
					}
				}
			})
		}
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestRestoreRefusesNonEmptyDir: restore writes only into an empty or
// absent directory, and leaves a non-empty one as it was.
func TestRestoreRefusesNonEmptyDir(t *testing.T) {
	archive, _ := takeBackup(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "keyhaven.db"), []byte("mine"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := runKeyhaven(backupEnv, "restore", "--from", archive, "--data-dir", dir)
	if err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("restore into a non-empty directory: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "keyhaven.db")); string(b) != "mine" {
		t.Fatal("restore changed a non-empty directory")
	}
	// An empty directory is fine.
	empty := t.TempDir()
	if out, err := runKeyhaven(backupEnv, "restore", "--from", archive, "--data-dir", empty); err != nil {
		t.Fatalf("restore into an empty directory: %v\n%s", err, out)
	}
	if fi, err := os.Stat(filepath.Join(empty, "credential.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("credential key after restore: %v %v", fi, err)
	}
}

// TestRestoreRefusesNewerSchema: a backup from a newer schema than this
// binary knows is refused before anything is written.
func TestRestoreRefusesNewerSchema(t *testing.T) {
	known, err := sqlite.KnownSchemaVersion()
	if err != nil {
		t.Fatal(err)
	}
	parent := t.TempDir()
	archive := filepath.Join(parent, "newer.khb")
	f, err := os.OpenFile(archive, os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	w, err := backup.NewWriter(f, []byte(backupPass), backup.DefaultKDF)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Add("keyhaven.db", 4, strings.NewReader("next")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(&backup.Manifest{Engine: "sqlite", Database: true, SchemaVersion: known + 1}); err != nil {
		t.Fatal(err)
	}
	f.Close()
	dir := filepath.Join(parent, "data")
	_, err = runKeyhaven(backupEnv, "restore", "--from", archive, "--data-dir", dir)
	if err == nil || !strings.Contains(err.Error(), "newer than this keyhaven knows") {
		t.Fatalf("restore of a newer schema: %v", err)
	}
	if entries, _ := os.ReadDir(parent); len(entries) != 1 {
		t.Fatalf("restore left files behind: %v", entries)
	}
}

// TestTakeFlag: the backup commands' own flags come out of the argument
// list in both spellings, the rest stays for loadConfig.
func TestTakeFlag(t *testing.T) {
	cases := []struct {
		args      []string
		val, rest string
	}{
		{[]string{"--to", "f", "--data-dir", "d"}, "f", "--data-dir d"},
		{[]string{"--data-dir", "d", "-to=f"}, "f", "--data-dir d"},
		{[]string{"--data-dir", "d"}, "", "--data-dir d"},
		{[]string{"--to"}, "", "--to"},
	}
	for _, tc := range cases {
		val, rest := takeFlag(tc.args, "to")
		if val != tc.val || strings.Join(rest, " ") != tc.rest {
			t.Errorf("takeFlag(%q) = %q, %q", tc.args, val, rest)
		}
	}
}
