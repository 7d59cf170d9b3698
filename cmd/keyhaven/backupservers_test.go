package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/task"
)

// TestBackupCarriesServers: the server inventory, with what is associated
// with each server, survives keyhaven backup and restore; the restored
// store still refuses to remove a server whose task was unfinished when
// the backup was taken, until that task has been failed.
func TestBackupCarriesServers(t *testing.T) {
	ctx := t.Context()
	cli := serversCLI{t: t, data: filepath.Join(t.TempDir(), "data")}
	_, pubs, fps := hostKeys(t)
	cli.ok("add", "web-1", "--project", "p-1", "--address", "10.0.0.5", "--port", "2222", "--user", "admin", "--host-key", pubs[0], "--host-key", pubs[1])
	cli.ok("add", "web-2", "--project", "p-2", "--address", "web-2.example.com", "--host-key", pubs[1])

	// web-1 has a key pair associated; web-2 a task still waiting.
	cfg, err := loadConfig("test", []string{"--data-dir", cli.data}, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	done := &task.Task{ID: task.NewID(), ProjectID: "p-1", UserID: "u", ServerID: "web-1", Operation: task.Bind,
		Owner: "instance-1", LeaseUntil: time.Now().Add(time.Hour), KeyPairName: "kp-1", KeyPairID: 1, PublicKey: pubs[0]}
	waiting := &task.Task{ID: task.NewID(), ProjectID: "p-2", UserID: "u", ServerID: "web-2", Operation: task.Bind,
		Owner: "instance-1", LeaseUntil: time.Now().Add(time.Hour), KeyPairName: "kp-2"}
	for _, tk := range []*task.Task{done, waiting} {
		if err := st.CreateTask(ctx, tk, tk.AuditEntry(time.Now())); err != nil {
			t.Fatal(err)
		}
	}
	claimed, err := st.ClaimTask(ctx, "instance-1", time.Now(), time.Now().Add(time.Hour))
	if err != nil || claimed == nil || claimed.ID != done.ID {
		t.Fatalf("ClaimTask = %+v, %v", claimed, err)
	}
	claimed.Phase = task.Success
	assoc := &task.Server{KeyPairName: "kp-1", KeyPairID: 1, PublicKey: pubs[0], PasswordDisabled: true}
	if err := st.FinishTask(ctx, claimed, "instance-1", assoc, claimed.AuditEntry(time.Now())); err != nil {
		t.Fatal(err)
	}
	st.Close()

	archive := filepath.Join(t.TempDir(), "keyhaven.khb")
	out, err := runKeyhaven(backupEnv, "backup", "--to", archive, "--data-dir", cli.data)
	if err != nil || !strings.Contains(out, "2 servers") {
		t.Fatalf("backup: %v\n%s", err, out)
	}
	restored := serversCLI{t: t, data: filepath.Join(t.TempDir(), "restored")}
	out, err = runKeyhaven(backupEnv, "restore", "--from", archive, "--data-dir", restored.data)
	if err != nil || !strings.Contains(out, "2 servers") || !strings.Contains(out, "hash chain verified") {
		t.Fatalf("restore: %v\n%s", err, out)
	}

	show := restored.ok("show", "web-1")
	for _, want := range []string{"p-1", "10.0.0.5", "2222", "admin", fps[0], fps[1], "kp-1 (id 1)", "disabled by keyhaven"} {
		if !strings.Contains(show, want) {
			t.Errorf("restored web-1 lacks %q:\n%s", want, show)
		}
	}
	if show := restored.ok("show", "web-2"); !strings.Contains(show, "web-2.example.com") || !strings.Contains(show, fps[1]) {
		t.Errorf("restored web-2:\n%s", show)
	}
	if out, err := restored.run("remove", "web-2"); err == nil || !strings.Contains(err.Error(), "unfinished task") {
		t.Errorf("remove of web-2 with its restored READY task: %v\n%s", err, out)
	}

	// The restored instance fails what the old one held, as after a crash.
	cfg2, err := loadConfig("test", []string{"--data-dir", restored.data}, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	st2, err := openStore(ctx, cfg2)
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	if n, err := st2.FailExpired(ctx, "", time.Now().Add(2*time.Hour), "restored from a backup"); err != nil || n != 1 {
		t.Fatalf("FailExpired after restore = %d, %v; want 1", n, err)
	}
	restored.ok("remove", "web-2")
}
