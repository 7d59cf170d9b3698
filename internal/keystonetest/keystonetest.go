package keystonetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Commands of Debian's python3-keystone package that Start uses.
const (
	// ManageBin is keystone-manage, which sets Keystone up.
	ManageBin = "/usr/bin/keystone-manage"
	// WSGIBin is keystone-wsgi-public, which serves Keystone.
	WSGIBin = "/usr/bin/keystone-wsgi-public"
)

// RequireEnv names an environment variable: when it is "1", a missing
// python3-keystone package fails the test instead of skipping it.
const RequireEnv = "KEYHAVEN_REQUIRE_KEYSTONE"

// Timeouts of starting Keystone.
const (
	setupTimeout = 2 * time.Minute
	readyTimeout = 60 * time.Second
)

// Keystone is a running Keystone on a loopback port.
type Keystone struct {
	// URL is the v3 endpoint, e.g. http://127.0.0.1:PORT/v3.
	URL string
	// AdminUser and AdminPassword are the bootstrap admin, who holds role
	// admin on AdminProject (and on the system).
	AdminUser, AdminPassword string
	// AdminProject is the bootstrap admin's project.
	AdminProject string
	// Domain is the name of the domain of every user and project here.
	Domain string

	dir      string
	server   *exec.Cmd
	exited   chan struct{} // closed when the server has exited
	watchdog *exec.Cmd
	lifeline *os.File // closing it makes the watchdog stop everything

	stopOnce sync.Once
	tokMu    sync.Mutex
	adminTok string
	adminExp time.Time
}

var (
	sharedOnce sync.Once
	shared     *Keystone
	sharedErr  error
)

// Start returns the test binary's shared Keystone, starting it on first use
// (which takes several seconds). Every test of a package may call it: they
// all get the same instance, so tests should create users and projects with
// names of their own (UniqueName). The instance lives until the test binary
// exits, however it exits, and then a watchdog process stops it and removes
// its directory.
//
// Start skips the test when Debian's python3-keystone is not installed
// (scripts/keystone-test-deps.sh installs it), unless RequireEnv is set.
func Start(t testing.TB) *Keystone {
	t.Helper()
	skipIfMissing(t)
	sharedOnce.Do(func() { shared, sharedErr = launch() })
	if sharedErr != nil {
		t.Fatalf("keystonetest: %v", sharedErr)
	}
	return shared
}

// StartDedicated starts a Keystone of the test's own, which is stopped (and
// its directory removed) when the test ends, or earlier by Stop. Use it for
// tests that stop or break Keystone; it costs a full start.
func StartDedicated(t testing.TB) *Keystone {
	t.Helper()
	skipIfMissing(t)
	k, err := launch()
	if err != nil {
		t.Fatalf("keystonetest: %v", err)
	}
	t.Cleanup(k.Stop)
	return k
}

func skipIfMissing(t testing.TB) {
	t.Helper()
	for _, bin := range []string{ManageBin, WSGIBin} {
		if _, err := os.Stat(bin); err != nil {
			msg := fmt.Sprintf("keystonetest: %s not found: Debian's python3-keystone package is not installed "+
				"(run scripts/keystone-test-deps.sh)", bin)
			if os.Getenv(RequireEnv) == "1" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
	}
}

// watchdogScript waits for EOF on its stdin (the test binary holds the
// other end, so EOF comes when the binary exits or calls Stop), then stops
// the server's process group, whose id is in $1/server.pid, and removes $1.
const watchdogScript = `
dir=$1
cat >/dev/null
if [ -s "$dir/server.pid" ]; then
  pgid=$(cat "$dir/server.pid")
  kill -TERM "-$pgid" 2>/dev/null
  i=0
  while kill -0 "-$pgid" 2>/dev/null && [ "$i" -lt 50 ]; do sleep 0.1; i=$((i+1)); done
  kill -KILL "-$pgid" 2>/dev/null
fi
rm -rf -- "$dir"
`

// launch sets up a fresh Keystone in a new directory and serves it.
func launch() (*Keystone, error) {
	dir, err := os.MkdirTemp("", "keystonetest-")
	if err != nil {
		return nil, err
	}
	k := &Keystone{
		AdminUser:     "admin",
		AdminPassword: "keystonetest-admin-" + strconv.FormatInt(time.Now().UnixNano(), 36),
		AdminProject:  "admin",
		Domain:        "Default",
		dir:           dir,
	}
	// The watchdog comes first, so that even a setup cut short leaves
	// nothing behind.
	r, w, err := os.Pipe()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	k.watchdog = exec.Command("/bin/sh", "-c", watchdogScript, "keystonetest-watchdog", dir)
	k.watchdog.Stdin = r
	k.watchdog.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := k.watchdog.Start(); err != nil {
		r.Close()
		w.Close()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("starting watchdog: %w", err)
	}
	r.Close()
	k.lifeline = w

	if err := k.setup(); err != nil {
		k.Stop()
		return nil, err
	}
	return k, nil
}

// setup configures, bootstraps and serves Keystone.
func (k *Keystone) setup() error {
	var err error
	for try := 0; try < 3; try++ {
		var port int
		if port, err = freePort(); err != nil {
			return err
		}
		k.URL = fmt.Sprintf("http://127.0.0.1:%d/v3", port)
		if try == 0 {
			if err = k.initDB(); err != nil {
				return err
			}
		}
		if err = k.serve(port); err == nil || !errors.Is(err, errPortTaken) {
			return err
		}
	}
	return err
}

func (k *Keystone) path(name string) string { return filepath.Join(k.dir, name) }

// config is keystone.conf: SQLite in the directory, Fernet tokens.
const config = `[DEFAULT]
use_stderr = true
[database]
connection = sqlite:///{{dir}}/keystone.db
[fernet_tokens]
key_repository = {{dir}}/fernet-keys
[fernet_receipts]
key_repository = {{dir}}/fernet-receipts
[credential]
key_repository = {{dir}}/credential-keys
[token]
provider = fernet
expiration = 3600
`

// initDB writes keystone.conf, creates the database and the key
// repositories, and bootstraps the admin, the roles and the endpoints.
func (k *Keystone) initDB() error {
	conf := strings.ReplaceAll(config, "{{dir}}", k.dir)
	if err := os.WriteFile(k.path("keystone.conf"), []byte(conf), 0o600); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	owner := []string{"--keystone-user", "root", "--keystone-group", "root"}
	if os.Getuid() != 0 {
		u, g := strconv.Itoa(os.Getuid()), strconv.Itoa(os.Getgid())
		owner = []string{"--keystone-user", u, "--keystone-group", g}
	}
	// The key repositories do not need the database: set them up while
	// db_sync runs.
	errc := make(chan error, 1)
	go func() {
		err := k.manage(ctx, append([]string{"fernet_setup"}, owner...)...)
		if err == nil {
			err = k.manage(ctx, append([]string{"credential_setup"}, owner...)...)
		}
		errc <- err
	}()
	err := k.manage(ctx, "db_sync")
	if err2 := <-errc; err == nil {
		err = err2
	}
	if err != nil {
		return err
	}
	if err := k.walMode(ctx); err != nil {
		return err
	}
	// The password goes by environment, not in the command line.
	return k.manage(ctx, "bootstrap",
		"--bootstrap-username", k.AdminUser,
		"--bootstrap-project-name", k.AdminProject,
		"--bootstrap-admin-url", k.URL,
		"--bootstrap-public-url", k.URL,
		"--bootstrap-internal-url", k.URL,
		"--bootstrap-region-id", "RegionOne")
}

// manage runs keystone-manage with the instance's config.
func (k *Keystone) manage(ctx context.Context, args ...string) error {
	cmd := exec.CommandContext(ctx, ManageBin, append([]string{"--config-file", k.path("keystone.conf")}, args...)...)
	cmd.Dir = k.dir
	cmd.Env = k.env("OS_BOOTSTRAP_PASSWORD=" + k.AdminPassword)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("keystone-manage %s: %w\n%s", args[0], err, redact(tail(out.String(), 3000), k.AdminPassword))
	}
	return nil
}

// env is the environment of Keystone's commands: this process's without
// its OS_* variables (OS_BOOTSTRAP_*, OS_KEYSTONE_CONFIG_DIR and the like
// would override the instance's settings), plus the instance's config file
// and extra.
func (k *Keystone) env(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "OS_") {
			env = append(env, kv)
		}
	}
	env = append(env, "OS_KEYSTONE_CONFIG_FILES="+k.path("keystone.conf"))
	return append(env, extra...)
}

// walMode switches the database to write-ahead logging (which sticks to
// the file). Keystone keeps a read transaction open in one connection while
// another writes within the same request (e.g. creating an EC2 credential);
// with SQLite's default rollback journal that write fails with "database is
// locked", with WAL readers do not block the writer.
func (k *Keystone) walMode(ctx context.Context) error {
	const script = "import sqlite3, sys\n" +
		"c = sqlite3.connect(sys.argv[1])\n" +
		"m = c.execute('PRAGMA journal_mode=WAL').fetchone()[0]\n" +
		"sys.exit(0 if m == 'wal' else 'journal_mode is ' + m)\n"
	out, err := exec.CommandContext(ctx, "/usr/bin/python3", "-c", script, k.path("keystone.db")).CombinedOutput()
	if err != nil {
		return fmt.Errorf("setting WAL mode: %w: %s", err, out)
	}
	return nil
}

var errPortTaken = errors.New("port taken")

// serve starts keystone-wsgi-public (Python's single-threaded wsgiref
// server, which suits SQLite) on 127.0.0.1:port and waits until it answers.
func (k *Keystone) serve(port int) error {
	logf, err := os.OpenFile(k.path("keystone.log"), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command("/usr/bin/python3", WSGIBin, "--host", "127.0.0.1", "--port", strconv.Itoa(port))
	cmd.Dir = k.dir
	cmd.Env = k.env("PYTHONUNBUFFERED=1")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", WSGIBin, err)
	}
	pidFile := k.path("server.pid")
	if err := os.WriteFile(pidFile, []byte(strconv.Itoa(cmd.Process.Pid)), 0o600); err != nil {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
		return err
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		// The process group is gone: keep the watchdog off its id.
		os.Remove(pidFile)
		close(exited)
	}()
	k.server, k.exited = cmd, exited

	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(readyTimeout)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			log := k.Log()
			if strings.Contains(log, "Address already in use") {
				return errPortTaken
			}
			return fmt.Errorf("keystone-wsgi-public exited before answering: %v\n%s", cmd.ProcessState, log)
		case <-time.After(100 * time.Millisecond):
		}
		resp, err := client.Get(k.URL)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
	}
	return fmt.Errorf("keystone did not answer GET %s within %v\n%s", k.URL, readyTimeout, k.Log())
}

// Log returns the end of the server's log, for failure messages.
func (k *Keystone) Log() string {
	data, _ := os.ReadFile(k.path("keystone.log"))
	return redact(tail(string(data), 4000), k.AdminPassword)
}

// Dir returns the instance's directory (config, database, keys, log); Stop
// removes it.
func (k *Keystone) Dir() string { return k.dir }

// Stop stops the server and removes its directory, and waits for both. It
// is for StartDedicated instances (the shared one lives until the binary
// exits); calling it again does nothing.
func (k *Keystone) Stop() {
	k.stopOnce.Do(func() {
		if k.server != nil && k.server.Process != nil {
			syscall.Kill(-k.server.Process.Pid, syscall.SIGTERM)
			select {
			case <-k.exited:
			case <-time.After(5 * time.Second):
				syscall.Kill(-k.server.Process.Pid, syscall.SIGKILL)
				<-k.exited
			}
		}
		k.lifeline.Close() // the watchdog removes the directory
		k.watchdog.Wait()
	})
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

func redact(s, secret string) string {
	if secret == "" {
		return s
	}
	return strings.ReplaceAll(s, secret, "<redacted>")
}
