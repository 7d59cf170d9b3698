package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/task"
)

// serversCLI runs keyhaven servers against the data directory data.
type serversCLI struct {
	t    *testing.T
	data string
	// global are more serve flags, e.g. --database postgres://...
	global []string
}

// run runs `keyhaven servers --data-dir DATA args...` and returns its
// output and error.
func (c serversCLI) run(args ...string) (string, error) {
	var out, errb bytes.Buffer
	cmd := append(append([]string{"servers", "--data-dir", c.data}, c.global...), args...)
	err := run(context.Background(), cmd, func(string) string { return "" }, &out, &errb)
	return out.String() + errb.String(), err
}

// ok runs args and fails the test if they fail.
func (c serversCLI) ok(args ...string) string {
	c.t.Helper()
	out, err := c.run(args...)
	if err != nil {
		c.t.Fatalf("servers %v: %v\n%s", args, err, out)
	}
	return out
}

// hostKeys makes an ed25519 and an ECDSA host key with the real ssh-keygen
// and returns their private key paths, public lines and the SHA256
// fingerprints ssh-keygen prints for them.
func hostKeys(t *testing.T) (paths, pubs, fps []string) {
	t.Helper()
	if _, err := exec.LookPath("ssh-keygen"); err != nil {
		t.Fatal("ssh-keygen is required (Debian package openssh-client)")
	}
	dir := t.TempDir()
	for _, typ := range []string{"ed25519", "ecdsa"} {
		path := filepath.Join(dir, "ssh_host_"+typ+"_key")
		if out, err := exec.Command("ssh-keygen", "-q", "-t", typ, "-N", "", "-C", "root@host", "-f", path).CombinedOutput(); err != nil {
			t.Fatalf("ssh-keygen: %v\n%s", err, out)
		}
		pub, err := os.ReadFile(path + ".pub")
		if err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("ssh-keygen", "-l", "-E", "sha256", "-f", path+".pub").Output()
		if err != nil {
			t.Fatalf("ssh-keygen -l: %v", err)
		}
		paths, pubs, fps = append(paths, path), append(pubs, strings.TrimSpace(string(pub))), append(fps, strings.Fields(string(out))[1])
	}
	return paths, pubs, fps
}

// keyscan starts a real sshd with the host keys at paths on a free port
// of 127.0.0.1 and returns what the real ssh-keyscan prints for it.
func keyscan(t *testing.T, paths []string) string {
	t.Helper()
	for _, tool := range []string{"/usr/sbin/sshd", "ssh-keyscan"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is required (Debian packages openssh-server, openssh-client)", tool)
		}
	}
	addr := freeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	dir := t.TempDir()
	cfg := "ListenAddress " + addr + "\nPidFile " + filepath.Join(dir, "pid") + "\nUsePAM no\n"
	for _, p := range paths {
		cfg += "HostKey " + p + "\n"
	}
	cfgPath := filepath.Join(dir, "sshd_config")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	sshd := exec.Command("/usr/sbin/sshd", "-D", "-e", "-f", cfgPath)
	var log bytes.Buffer
	sshd.Stderr = &log
	if err := sshd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sshd.Process.Kill(); sshd.Wait() })
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sshd did not listen on %s:\n%s", addr, log.String())
		}
	}
	out, err := exec.Command("ssh-keyscan", "-p", port, "-t", "ed25519,ecdsa", "127.0.0.1").Output()
	if err != nil {
		t.Fatalf("ssh-keyscan: %v", err)
	}
	return string(out)
}

// TestServersCommand adds servers from keys the real ssh-keygen made and
// from what the real ssh-keyscan read off a real sshd, lists, shows (with
// the fingerprints ssh-keygen prints), replaces and removes them.
func TestServersCommand(t *testing.T) {
	cli := serversCLI{t: t, data: filepath.Join(t.TempDir(), "data")}
	paths, pubs, fps := hostKeys(t)

	out := cli.ok("add", "web-1", "--project", "p-1", "--address", "10.0.0.5", "--host-key", pubs[0], "--name", "web one")
	if !strings.Contains(out, "server web-1 (project p-1) at 10.0.0.5:22, login root, 1 host key(s) pinned") {
		t.Errorf("add said:\n%s", out)
	}
	scanned := filepath.Join(t.TempDir(), "keyscan.txt")
	if err := os.WriteFile(scanned, []byte(keyscan(t, paths)), 0o600); err != nil {
		t.Fatal(err)
	}
	cli.ok("add", "db-1", "--project", "p-2", "--address", "db.example.com", "--port", "2222", "--user", "admin",
		"--sshd-config", "/etc/ssh/sshd_config.d/keyhaven.conf", "--host-key-file", scanned)
	pubFile := paths[1] + ".pub"
	cli.ok("add", "app-1", "--project", "p-1", "--address", "::1", "--host-key-file", pubFile, "--host-key", pubs[0])

	list := cli.ok("list")
	for _, want := range []string{"ID", "app-1", "db-1", "web-1", "web one", "db.example.com", "2222", "admin"} {
		if !strings.Contains(list, want) {
			t.Errorf("list lacks %q:\n%s", want, list)
		}
	}
	if i, j, k := strings.Index(list, "app-1"), strings.Index(list, "db-1"), strings.Index(list, "web-1"); !(i < j && j < k) {
		t.Errorf("list not ordered by id:\n%s", list)
	}
	if p1 := cli.ok("list", "--project", "p-1"); strings.Contains(p1, "db-1") || !strings.Contains(p1, "web-1") || !strings.Contains(p1, "app-1") {
		t.Errorf("list --project p-1:\n%s", p1)
	}

	show := cli.ok("show", "db-1")
	for _, want := range []string{"db.example.com", "2222", "admin", "/etc/ssh/sshd_config.d/keyhaven.conf", "p-2", fps[0], fps[1], "ssh-ed25519", "ecdsa-sha2-nistp256"} {
		if !strings.Contains(show, want) {
			t.Errorf("show db-1 lacks %q:\n%s", want, show)
		}
	}
	if show := cli.ok("show", "web-1"); !strings.Contains(show, fps[0]) || strings.Contains(show, fps[1]) || !strings.Contains(show, "/etc/ssh/sshd_config") {
		t.Errorf("show web-1:\n%s", show)
	}

	// Adding an existing id needs --replace.
	if out, err := cli.run("add", "web-1", "--project", "p-1", "--address", "10.0.0.6", "--host-key", pubs[1]); err == nil || !strings.Contains(err.Error(), "--replace") {
		t.Errorf("add of an existing id: %v\n%s", err, out)
	}
	cli.ok("add", "web-1", "--project", "p-1", "--address", "10.0.0.6", "--host-key", pubs[1], "--replace")
	if show := cli.ok("show", "web-1"); !strings.Contains(show, "10.0.0.6") || !strings.Contains(show, fps[1]) || strings.Contains(show, fps[0]) {
		t.Errorf("show after --replace:\n%s", show)
	}

	cli.ok("remove", "app-1")
	if out, err := cli.run("show", "app-1"); err == nil || !strings.Contains(err.Error(), "server app-1 not found") {
		t.Errorf("show of a removed server: %v\n%s", err, out)
	}
	if _, err := cli.run("remove", "app-1"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("remove twice: %v", err)
	}
}

// TestServersRemoveBusy: a server with an unfinished task is not removed;
// once the task has failed it is.
func TestServersRemoveBusy(t *testing.T) {
	ctx := t.Context()
	cli := serversCLI{t: t, data: filepath.Join(t.TempDir(), "data")}
	_, pubs, _ := hostKeys(t)
	cli.ok("add", "web-1", "--project", "p-1", "--address", "10.0.0.5", "--host-key", pubs[0])

	cfg, err := loadConfig("test", []string{"--data-dir", cli.data}, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tk := &task.Task{ID: task.NewID(), ProjectID: "p-1", UserID: "u", ServerID: "web-1", Operation: task.Bind,
		Owner: "instance-1", LeaseUntil: time.Now().Add(time.Hour), KeyPairName: "kp"}
	if err := st.CreateTask(ctx, tk, tk.AuditEntry(time.Now())); err != nil {
		t.Fatal(err)
	}
	if out, err := cli.run("remove", "web-1"); err == nil || !strings.Contains(err.Error(), "unfinished task") {
		t.Fatalf("remove with a READY task: %v\n%s", err, out)
	}
	if _, err := st.FailExpired(ctx, "instance-1", time.Now(), "keyhaven restarted"); err != nil {
		t.Fatal(err)
	}
	cli.ok("remove", "web-1")

	// The audit log shows both entries of the association, with the server.
	var out, errb bytes.Buffer
	if err := run(ctx, []string{"audit", "--data-dir", cli.data, "list"}, func(string) string { return "" }, &out, &errb); err != nil {
		t.Fatalf("audit list: %v\n%s", err, errb.String())
	}
	for _, want := range []string{"SERVER", "RESULT", "associate", "web-1", tk.ID, "READY_BIND", "FAILED_BIND", "interrupted: keyhaven restarted"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("audit list lacks %q:\n%s", want, out.String())
		}
	}
}

// TestServersBadInput: every malformed add, and every command without its
// argument, fails with a message naming the problem and stores nothing.
func TestServersBadInput(t *testing.T) {
	cli := serversCLI{t: t, data: filepath.Join(t.TempDir(), "data")}
	_, pubs, _ := hostKeys(t)
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	empty := write("empty", "# nothing here\n\n")
	garbage := write("garbage", "this is not a key\n")
	ca := write("ca", "@cert-authority *.example.com "+pubs[0]+"\n")
	good := []string{"--project", "p-1", "--address", "10.0.0.5", "--host-key", pubs[0]}
	with := func(args ...string) []string { return append(append([]string{}, args...), good...) }

	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no verb", nil, "want add, list, show or remove"},
		{"no id", append([]string{"add"}, good...), "want exactly one SERVER_ID"},
		{"two ids", with("add", "a", "b"), "want exactly one SERVER_ID"},
		{"id too long", with("add", strings.Repeat("x", 256)), "server id must be 1 to 255 printable characters"},
		{"id with a tab", with("add", "a\tb"), "server id must be 1 to 255 printable characters"},
		{"id with NUL", with("add", "a\x00b"), "server id must be 1 to 255 printable characters"},
		{"no project", []string{"add", "s", "--address", "10.0.0.5", "--host-key", pubs[0]}, "--project is required"},
		{"no address", []string{"add", "s", "--project", "p", "--host-key", pubs[0]}, "--address is required"},
		{"bad address", []string{"add", "s", "--project", "p", "--address", "10.0.0.5:22", "--host-key", pubs[0]}, "is neither a host name nor an IP address"},
		{"address with space", []string{"add", "s", "--project", "p", "--address", "a b", "--host-key", pubs[0]}, "is neither a host name nor an IP address"},
		{"port 0", with("add", "s", "--port", "0"), "port 0 is not in 1-65535"},
		{"port 65536", with("add", "s", "--port", "65536"), "port 65536 is not in 1-65535"},
		{"port not a number", with("add", "s", "--port", "ssh"), "invalid value \"ssh\" for flag -port"},
		{"bad user", with("add", "s", "--user", "a/b"), "is not a user name"},
		{"relative sshd config", with("add", "s", "--sshd-config", "sshd_config"), "is not an absolute path"},
		{"no host key", []string{"add", "s", "--project", "p", "--address", "10.0.0.5"}, "--host-key or --host-key-file is required"},
		{"bad host key", []string{"add", "s", "--project", "p", "--address", "10.0.0.5", "--host-key", "ssh-ed25519 AAAAnope"}, "not an SSH public key"},
		{"truncated host key", []string{"add", "s", "--project", "p", "--address", "10.0.0.5", "--host-key", pubs[0][:40]}, "not an SSH public key"},
		{"missing file", []string{"add", "s", "--project", "p", "--address", "10.0.0.5", "--host-key-file", filepath.Join(dir, "nope")}, "no such file"},
		{"empty file", []string{"add", "s", "--project", "p", "--address", "10.0.0.5", "--host-key-file", empty}, "holds no host key"},
		{"garbage file", []string{"add", "s", "--project", "p", "--address", "10.0.0.5", "--host-key-file", garbage}, "line 1: not an SSH public key"},
		{"cert authority", []string{"add", "s", "--project", "p", "--address", "10.0.0.5", "--host-key-file", ca}, "@cert-authority line is not a host key"},
		{"unknown flag", with("add", "s", "--colour", "red"), "flag provided but not defined: -colour"},
		{"show without id", []string{"show"}, "want exactly one SERVER_ID"},
		{"remove without id", []string{"remove"}, "want exactly one SERVER_ID"},
		{"list with an argument", []string{"list", "x"}, "unexpected argument"},
		{"show unknown", []string{"show", "nope"}, "server nope not found"},
	}
	for _, tc := range tests {
		out, err := cli.run(tc.args...)
		if err == nil {
			t.Errorf("%s: servers %q succeeded:\n%s", tc.name, tc.args, out)
			continue
		}
		if msg := err.Error() + "\n" + out; !strings.Contains(msg, tc.want) {
			t.Errorf("%s: error %q, want one saying %q", tc.name, msg, tc.want)
		}
	}
	if list := cli.ok("list"); strings.Count(list, "\n") != 1 {
		t.Errorf("refused adds stored something:\n%s", list)
	}
}

// TestServersCommandPostgres: the inventory commands on PostgreSQL.
func TestServersCommandPostgres(t *testing.T) {
	cli := serversCLI{t: t, data: filepath.Join(t.TempDir(), "data"), global: []string{"--database", postgresURL(t)}}
	_, pubs, fps := hostKeys(t)
	cli.ok("add", "web-1", "--project", "p-1", "--address", "10.0.0.5", "--host-key", pubs[0], "--host-key", pubs[1])
	cli.ok("add", "web-2", "--project", "p-2", "--address", "10.0.0.6", "--host-key", pubs[1])
	if list := cli.ok("list", "--project", "p-1"); !strings.Contains(list, "web-1") || strings.Contains(list, "web-2") {
		t.Errorf("list --project p-1:\n%s", list)
	}
	if show := cli.ok("show", "web-1"); !strings.Contains(show, fps[0]) || !strings.Contains(show, fps[1]) {
		t.Errorf("show web-1:\n%s", show)
	}
	cli.ok("remove", "web-1")
	if list := cli.ok("list"); strings.Contains(list, "web-1") || !strings.Contains(list, "web-2") {
		t.Errorf("list after remove:\n%s", list)
	}
	if _, err := os.Stat(filepath.Join(cli.data, "keyhaven.db")); err == nil {
		t.Error("a SQLite database was made beside PostgreSQL")
	}
}

// TestServersWarnsUnknownProject: with the built-in identity, add warns
// when the project is not one of its project ids (a name given for the id
// is the likely slip), and is silent for a real id.
func TestServersWarnsUnknownProject(t *testing.T) {
	cli := serversCLI{t: t, data: filepath.Join(t.TempDir(), "data")}
	_, pubs, _ := hostKeys(t)
	env := func(k string) string {
		if k == "KEYHAVEN_BOOTSTRAP_PASSWORD" {
			return bootstrapPassword
		}
		return ""
	}
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"identity", "--data-dir", cli.data, "project", "create", "dev"}, env, &out, &errb); err != nil {
		t.Fatalf("project create: %v\n%s", err, errb.String())
	}
	id := strings.Fields(out.String())[0]

	warned := cli.ok("add", "web-1", "--project", "dev", "--address", "10.0.0.5", "--host-key", pubs[0])
	if !strings.Contains(warned, "warning: dev is not the id of a project of the built-in identity") {
		t.Errorf("add with a project name said:\n%s", warned)
	}
	quiet := cli.ok("add", "web-2", "--project", id, "--address", "10.0.0.5", "--host-key", pubs[0])
	if strings.Contains(quiet, "warning") {
		t.Errorf("add with project id %s warned:\n%s", id, quiet)
	}
}
