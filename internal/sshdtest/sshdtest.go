package sshdtest

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// RequireEnv names an environment variable: when it is "1", a machine that
// cannot run sshd for the tests (not root, not installed) fails the test
// instead of skipping it.
const RequireEnv = "KEYHAVEN_REQUIRE_SSHD"

// SSHD is the OpenSSH server binary the tests run.
const SSHD = "/usr/sbin/sshd"

// startTimeout bounds the start of one sshd (user, keys, listening).
const startTimeout = 30 * time.Second

// Options shape a server.
type Options struct {
	// Sudo gives the login user NOPASSWD sudo for every command, as a
	// cloud image's default user has.
	Sudo bool
	// Root makes the login user a second account with uid 0 (its own
	// name, home and password; root's own account is not touched), as a
	// server whose inventory logs in as root: privileged steps need no
	// sudo.
	Root bool
	// ExtraConfig goes at the top of the generated sshd_config (one
	// directive a line), so its values win: sshd keeps the first value it
	// reads for a keyword. A Match block in it would swallow the rest.
	ExtraConfig string
}

// Server is a running sshd with its login user.
type Server struct {
	// Addr is "127.0.0.1:PORT"; Host and Port are its parts.
	Addr string
	Host string
	Port int
	// User is the throwaway login user, Password its password; UID and GID
	// its ids; Home its home directory.
	User     string
	Password string
	UID, GID int
	Home     string
	// HostKey is the server's public host key in authorized_keys format,
	// what an inventory pins.
	HostKey string
	// Config is the path of the sshd_config the server reads (and reloads
	// on SIGHUP); PidFile is the file its PidFile directive names.
	Config  string
	PidFile string
	// Dir is the server's private directory (config, host key, log).
	Dir string

	knownHosts string
	logPath    string
}

// Start starts a server for the test; it is stopped, and its user
// removed, when the test ends.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	if os.Getuid() != 0 {
		unavailable(t, "not running as root (useradd and sshd need it)")
	}
	for _, prog := range []string{SSHD, "/usr/bin/ssh-keygen", "/usr/bin/ssh", "/usr/sbin/useradd", "/usr/sbin/chpasswd"} {
		if _, err := os.Stat(prog); err != nil {
			unavailable(t, prog+" is missing")
		}
	}
	if opts.Sudo {
		if _, err := exec.LookPath("sudo"); err != nil {
			unavailable(t, "sudo is missing")
		}
	}
	// sshd's privilege separation directory; Debian's service creates it
	// at boot, which a test machine may never have done.
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		t.Fatalf("sshdtest: %v", err)
	}

	// The whole tree is reachable by the login user (its home is in it);
	// the server's own directory below it is root's alone.
	base, err := os.MkdirTemp("", "sshdtest-")
	if err != nil {
		t.Fatalf("sshdtest: %v", err)
	}
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatalf("sshdtest: %v", err)
	}
	s := &Server{Host: "127.0.0.1", Dir: filepath.Join(base, "sshd")}
	s.User = "khs" + randomHex(6)
	s.Password = "pw-" + randomHex(12)
	s.Home = filepath.Join(base, "home")
	s.Config = filepath.Join(s.Dir, "sshd_config")
	s.PidFile = filepath.Join(s.Dir, "sshd.pid")
	s.logPath = filepath.Join(s.Dir, "sshd.log")
	s.knownHosts = filepath.Join(s.Dir, "known_hosts")
	if err := os.Mkdir(s.Dir, 0o700); err != nil {
		t.Fatalf("sshdtest: %v", err)
	}

	// The watchdog comes first: from here on, however the test ends, it
	// removes what follows.
	lifeline := startWatchdog(t, base, s, opts.Root)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("sshdtest: log of sshd %s:\n%s", s.Addr, s.Log())
		}
		lifeline()
	})

	if err := s.createUser(opts.Sudo, opts.Root); err != nil {
		t.Fatalf("sshdtest: %v", err)
	}
	if err := s.hostKey(); err != nil {
		t.Fatalf("sshdtest: %v", err)
	}
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		if lastErr = s.launch(opts); lastErr == nil {
			return s
		}
	}
	t.Fatalf("sshdtest: starting sshd: %v\nlog:\n%s", lastErr, s.Log())
	return nil
}

// unavailable skips (or, under RequireEnv, fails) a test this machine
// cannot run.
func unavailable(t testing.TB, why string) {
	t.Helper()
	msg := "sshdtest: " + why + "; SKIPPING the tests that need a real sshd (run as root after scripts/install-test-deps.sh)"
	if os.Getenv(RequireEnv) == "1" {
		t.Fatal(msg + " — but " + RequireEnv + "=1")
	}
	t.Skip(msg)
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// hostKey generates the server's ed25519 host key.
func (s *Server) hostKey() error {
	key := filepath.Join(s.Dir, "ssh_host_ed25519_key")
	if out, err := exec.Command("/usr/bin/ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "", "-f", key).CombinedOutput(); err != nil {
		return fmt.Errorf("ssh-keygen: %v: %s", err, out)
	}
	pub, err := os.ReadFile(key + ".pub")
	if err != nil {
		return err
	}
	s.HostKey = strings.TrimSpace(string(pub))
	return nil
}

// config is the server's sshd_config. Password logins are switched on
// explicitly, as a cloud image's drop-in does, so that turning them off has
// to win over an earlier directive.
func (s *Server) config(opts Options) string {
	// Only the test's own user may log in; PermitRootLogin is about uid 0.
	permitRoot := "no"
	if opts.Root {
		permitRoot = "yes"
	}
	return fmt.Sprintf(`# sshdtest: a throwaway server for one test
%s
Port %d
ListenAddress 127.0.0.1
AddressFamily inet
HostKey %s
PidFile %s
UsePAM yes
StrictModes yes
PubkeyAuthentication yes
PasswordAuthentication yes
KbdInteractiveAuthentication yes
AuthorizedKeysFile .ssh/authorized_keys
AllowUsers %s
PermitRootLogin %s
MaxStartups 100:30:200
MaxAuthTries 20
LogLevel VERBOSE
PrintMotd no
`, opts.ExtraConfig, s.Port, filepath.Join(s.Dir, "ssh_host_ed25519_key"), s.PidFile, s.User, permitRoot)
}

// launch starts sshd on a free port and waits until it answers; an error
// when the port was taken meanwhile (the caller retries another).
func (s *Server) launch(opts Options) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	s.Port = port
	s.Addr = net.JoinHostPort(s.Host, strconv.Itoa(port))
	if err := os.WriteFile(s.Config, []byte(s.config(opts)), 0o600); err != nil {
		return err
	}
	kh := fmt.Sprintf("[%s]:%d %s\n", s.Host, s.Port, s.HostKey)
	if err := os.WriteFile(s.knownHosts, []byte(kh), 0o600); err != nil {
		return err
	}
	logf, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(SSHD, "-D", "-e", "-f", s.Config)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	for {
		if banner(ctx, s.Addr) {
			return nil
		}
		select {
		case err := <-exited:
			return fmt.Errorf("sshd on port %d exited: %v", port, err)
		case <-ctx.Done():
			_ = cmd.Process.Kill()
			return fmt.Errorf("sshd on port %d did not answer within %s", port, startTimeout)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// banner reports whether an SSH server answers at addr.
func banner(ctx context.Context, addr string) bool {
	var d net.Dialer
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && strings.HasPrefix(line, "SSH-2.0-")
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Log returns what sshd has logged so far.
func (s *Server) Log() string {
	b, _ := os.ReadFile(s.logPath)
	return string(b)
}

// WaitReady waits until the server answers SSH again (after a reload).
func (s *Server) WaitReady(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	for !banner(ctx, s.Addr) {
		select {
		case <-ctx.Done():
			t.Fatalf("sshdtest: %s does not answer", s.Addr)
		case <-time.After(20 * time.Millisecond):
		}
	}
}
