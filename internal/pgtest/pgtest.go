package pgtest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// RequireEnv names an environment variable: when it is "1", a missing
// PostgreSQL installation fails the test instead of skipping it.
const RequireEnv = "KEYHAVEN_REQUIRE_POSTGRES"

// BinGlob is where Debian installs the server programs of each major
// version; Start uses the highest version found.
const BinGlob = "/usr/lib/postgresql/*/bin"

// startTimeout bounds initdb and the server's start.
const startTimeout = 2 * time.Minute

// Server is a running PostgreSQL server reachable on a Unix socket.
type Server struct {
	bin  string
	cred *syscall.Credential

	// DSN is a keyword/value connection string for the server's
	// "postgres" database as superuser postgres, e.g.
	// "host=/tmp/pgtest-123 port=5432 dbname=postgres user=postgres sslmode=disable".
	DSN string
	// Dir is the temporary directory holding the cluster (Dir/data), the
	// socket and the server log (Dir/server.log).
	Dir string

	lifeline *os.File // closing it makes the watchdog stop everything
}

var (
	sharedOnce sync.Once
	shared     *Server
	sharedErr  error
	dbSeq      atomic.Int64
)

// Start returns the test binary's shared server, starting it on first use.
// It lives until the test binary exits, however it exits; then a watchdog
// process stops it and removes its directory. Tests should not use its
// "postgres" database but one of their own (NewDatabase).
//
// Start skips the test when PostgreSQL is not installed, unless RequireEnv
// is "1", in which case it fails the test.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := binDir()
	if err != nil {
		unavailable(t, err.Error())
	}
	sharedOnce.Do(func() { shared, sharedErr = launch(bin) })
	if sharedErr != nil {
		t.Fatalf("pgtest: %v", sharedErr)
	}
	return shared
}

// NewDatabase starts the shared server if needed (see Start) and returns
// the DSN of a new, empty database on it, dropped when the test ends.
func NewDatabase(t testing.TB) string {
	t.Helper()
	return Start(t).NewDatabase(t)
}

// NewDatabase creates a new, empty database on s and returns its DSN. The
// database is dropped (closing any connection left to it) when the test
// ends.
func (s *Server) NewDatabase(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("pgtest_%d_%d", os.Getpid(), dbSeq.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.exec(ctx, `CREATE DATABASE `+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("pgtest: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := s.exec(ctx, `DROP DATABASE IF EXISTS `+pgx.Identifier{name}.Sanitize()+` WITH (FORCE)`); err != nil {
			t.Logf("pgtest: drop database %s: %v", name, err)
		}
	})
	return s.DatabaseDSN(name)
}

// DatabaseDSN returns the DSN of database name on s.
func (s *Server) DatabaseDSN(name string) string {
	return strings.Replace(s.DSN, "dbname=postgres", "dbname="+name, 1)
}

// exec runs one statement in the "postgres" database.
func (s *Server) exec(ctx context.Context, sql string) error {
	conn, err := pgx.Connect(ctx, s.DSN)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, sql)
	return err
}

// binDir returns the directory of initdb and pg_ctl: the highest major
// version under BinGlob.
func binDir() (string, error) {
	dirs, _ := filepath.Glob(BinGlob)
	version := func(d string) int {
		v, _ := strconv.Atoi(filepath.Base(filepath.Dir(d)))
		return v
	}
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if isExec(filepath.Join(d, "initdb")) && isExec(filepath.Join(d, "pg_ctl")) {
			return d, nil
		}
	}
	return "", fmt.Errorf("no initdb and pg_ctl in %s", BinGlob)
}

func isExec(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// watchdogScript waits for EOF on its stdin (the test binary holds the
// other end, so EOF comes when the binary exits), then stops the server
// whose pid heads $1/data/postmaster.pid (fast shutdown, SIGKILL after ten
// seconds) and removes $1.
const watchdogScript = `
dir=$1
cat >/dev/null
if [ -s "$dir/data/postmaster.pid" ]; then
  pid=$(head -n 1 "$dir/data/postmaster.pid")
  kill -INT "$pid" 2>/dev/null
  i=0
  while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 100 ]; do sleep 0.1; i=$((i+1)); done
  kill -KILL "$pid" 2>/dev/null
fi
rm -rf -- "$dir"
`

// launch makes a cluster in a new directory and starts its server.
func launch(bin string) (*Server, error) {
	var cred *syscall.Credential
	parent := ""
	if os.Getuid() == 0 {
		// PostgreSQL refuses to run as root: run it as postgres, in a
		// directory postgres owns under /tmp (which it can traverse).
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("running as root and no postgres user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		parent = "/tmp"
	}
	dir, err := os.MkdirTemp(parent, "pgtest-")
	if err != nil {
		return nil, err
	}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	s := &Server{
		bin:  bin,
		cred: cred,
		Dir:  dir,
		DSN:  fmt.Sprintf("host=%s port=5432 dbname=postgres user=postgres sslmode=disable", dir),
	}

	// The watchdog comes first, so that even a start cut short leaves
	// nothing behind.
	r, w, err := os.Pipe()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	wd := exec.Command("/bin/sh", "-c", watchdogScript, "pgtest-watchdog", dir)
	wd.Stdin = r
	wd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := wd.Start(); err != nil {
		r.Close()
		w.Close()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("starting watchdog: %w", err)
	}
	r.Close()
	s.lifeline = w // kept open until the process exits

	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	data := filepath.Join(dir, "data")
	if err := s.run(ctx, cred, filepath.Join(bin, "initdb"), "-D", data, "-A", "trust", "-U", "postgres",
		"--no-sync", "--encoding=UTF8", "--locale=C"); err != nil {
		return nil, err
	}
	if err := s.start(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// start starts the server of the cluster in s.Dir.
func (s *Server) start(ctx context.Context) error {
	opts := fmt.Sprintf("-k %s -c listen_addresses='' -c port=5432 -c fsync=off -c synchronous_commit=off "+
		"-c full_page_writes=off -c max_connections=300", s.Dir)
	if err := s.run(ctx, s.cred, filepath.Join(s.bin, "pg_ctl"), "-D", filepath.Join(s.Dir, "data"), "-l", filepath.Join(s.Dir, "server.log"),
		"-o", opts, "-w", "-t", "60", "start"); err != nil {
		return fmt.Errorf("%w\nserver log:\n%s", err, s.Log())
	}
	return nil
}

// unavailable skips (or, under RequireEnv, fails) a test that needs a
// PostgreSQL installation this machine lacks.
func unavailable(t testing.TB, why string) {
	t.Helper()
	msg := fmt.Sprintf("pgtest: %s: PostgreSQL is not installed (run scripts/postgres-test-deps.sh); "+
		"SKIPPING the PostgreSQL tests", why)
	if os.Getenv(RequireEnv) == "1" {
		t.Fatal(msg + " — but " + RequireEnv + "=1")
	}
	t.Skip(msg)
}

// StartDedicated starts a server of the test's own, for tests that stop
// and restart it; the watchdog removes it when the test binary exits.
func StartDedicated(t testing.TB) *Server {
	t.Helper()
	bin, err := binDir()
	if err != nil {
		unavailable(t, err.Error())
	}
	s, err := launch(bin)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() { _ = s.stop(context.Background()) })
	return s
}

// Stop stops the server (fast shutdown: clients are disconnected).
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	if err := s.stop(context.Background()); err != nil {
		t.Fatalf("pgtest: stop: %v", err)
	}
}

func (s *Server) stop(ctx context.Context) error {
	return s.run(ctx, s.cred, filepath.Join(s.bin, "pg_ctl"), "-D", filepath.Join(s.Dir, "data"), "-m", "fast", "-w", "stop")
}

// Restart starts a stopped server again.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if err := s.start(ctx); err != nil {
		t.Fatalf("pgtest: restart: %v", err)
	}
}

// run runs a PostgreSQL program as cred (nil: this process's user) in the
// server's directory, its output going to a file there so that a daemon it
// starts holds no pipe of ours.
func (s *Server) run(ctx context.Context, cred *syscall.Credential, prog string, args ...string) error {
	outPath := filepath.Join(s.Dir, filepath.Base(prog)+".out")
	out, err := os.Create(outPath)
	if err != nil {
		return err
	}
	defer out.Close()
	if cred != nil {
		if err := out.Chown(int(cred.Uid), int(cred.Gid)); err != nil {
			return err
		}
	}
	cmd := exec.CommandContext(ctx, prog, args...)
	cmd.Dir = s.Dir
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Env = append(os.Environ(), "LC_ALL=C", "PGTZ=UTC")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if err := cmd.Run(); err != nil {
		b, _ := os.ReadFile(outPath)
		return fmt.Errorf("%s: %w\n%s", filepath.Base(prog), err, b)
	}
	return nil
}

// Log returns the server's log so far, for failure messages.
func (s *Server) Log() string {
	b, err := os.ReadFile(filepath.Join(s.Dir, "server.log"))
	if err != nil {
		return "(no server log: " + err.Error() + ")"
	}
	const max = 8000
	if len(b) > max {
		b = b[len(b)-max:]
	}
	return string(b)
}
