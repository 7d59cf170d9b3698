package sshdtest

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// userMu serialises useradd/userdel in this process: they lock
// /etc/passwd and fail rather than wait when another holds it.
var userMu sync.Mutex

// watchdogScript waits for EOF on its stdin (the test, or the test binary's
// death, closes the other end), then stops sshd (SIGTERM, SIGKILL after
// five seconds), removes the user, its sudoers file and the directory.
const watchdogScript = `
base=$1 user=$2 pidfile=$3 force=$4
cat >/dev/null
if [ -s "$pidfile" ]; then
  pid=$(cat "$pidfile")
  kill -TERM "$pid" 2>/dev/null
  i=0
  while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 50 ]; do sleep 0.1; i=$((i+1)); done
  kill -KILL "$pid" 2>/dev/null
fi
rm -f "/etc/sudoers.d/keyhaven-sshdtest-$user"
if id "$user" >/dev/null 2>&1; then
  if [ "$force" = 1 ]; then
    # a uid 0 account is always in use (by root's processes)
    userdel -f "$user" 2>/dev/null
  else
    i=0
    until userdel "$user" 2>/dev/null; do
      i=$((i+1))
      if [ "$i" -ge 20 ]; then userdel -f "$user"; break; fi
      sleep 0.25
    done
  fi
fi
rm -rf -- "$base"
`

// startWatchdog starts the process that cleans up after s, and returns the
// function that makes it do so now and waits for it.
func startWatchdog(t testing.TB, base string, s *Server, root bool) func() {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatalf("sshdtest: %v", err)
	}
	wd := exec.Command("/bin/sh", "-c", watchdogScript, "sshdtest-watchdog", base, s.User, s.PidFile, map[bool]string{true: "1", false: "0"}[root])
	wd.Stdin = r
	wd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := wd.Start(); err != nil {
		r.Close()
		w.Close()
		os.RemoveAll(base)
		t.Fatalf("sshdtest: starting watchdog: %v", err)
	}
	r.Close()
	return func() {
		w.Close()
		userMu.Lock() // userdel happens in the watchdog
		defer userMu.Unlock()
		_ = wd.Wait()
	}
}

// createUser adds the login user with its home, password and sudo rule.
func (s *Server) createUser(sudo, root bool) error {
	userMu.Lock()
	defer userMu.Unlock()
	args := []string{"-m", "-d", s.Home, "-s", "/bin/sh", "-U", s.User}
	if root {
		args = []string{"-m", "-d", s.Home, "-s", "/bin/sh", "-o", "-u", "0", "-g", "0", s.User}
	}
	if err := retryLocked("useradd", args...); err != nil {
		return err
	}
	cmd := exec.Command("/usr/sbin/chpasswd")
	cmd.Stdin = strings.NewReader(s.User + ":" + s.Password + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("chpasswd: %v: %s", err, out)
	}
	u, err := user.Lookup(s.User)
	if err != nil {
		return err
	}
	s.UID, _ = strconv.Atoi(u.Uid)
	s.GID, _ = strconv.Atoi(u.Gid)
	// StrictModes refuses a home others may write.
	if err := os.Chmod(s.Home, 0o755); err != nil {
		return err
	}
	if sudo {
		rule := s.User + " ALL=(ALL) NOPASSWD: ALL\n"
		if err := os.WriteFile("/etc/sudoers.d/keyhaven-sshdtest-"+s.User, []byte(rule), 0o440); err != nil {
			return err
		}
	}
	return nil
}

// retryLocked runs a shadow tool, again while another process (another
// test binary) holds the lock on /etc/passwd.
func retryLocked(prog string, args ...string) error {
	var out []byte
	var err error
	for i := 0; i < 40; i++ {
		out, err = exec.Command(prog, args...).CombinedOutput()
		if err == nil {
			return nil
		}
		if !strings.Contains(string(out), "lock") {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	return fmt.Errorf("%s %s: %v: %s", prog, strings.Join(args, " "), err, out)
}
