package sshdtest

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// syscallStat is what os.FileInfo.Sys holds on Linux.
type syscallStat = syscall.Stat_t

// loginTimeout bounds one login attempt of the real client.
const loginTimeout = 30 * time.Second

// sshArgs are the options every check uses: no user configuration, no
// agent, the server's host key pinned and nothing else accepted.
func (s *Server) sshArgs() []string {
	return []string{
		"-F", "/dev/null",
		"-o", "UserKnownHostsFile=" + s.knownHosts,
		"-o", "GlobalKnownHostsFile=/dev/null",
		"-o", "StrictHostKeyChecking=yes",
		"-o", "HostKeyAlgorithms=ssh-ed25519",
		"-o", "ConnectTimeout=10",
		"-o", "LogLevel=ERROR",
		"-p", strconv.Itoa(s.Port),
		"-l", s.User,
	}
}

// CanLoginKey reports whether the real OpenSSH client logs in as the
// login user with privateKey (PEM or OpenSSH) and nothing else.
func (s *Server) CanLoginKey(t testing.TB, privateKey []byte) bool {
	t.Helper()
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "id")
	if len(privateKey) > 0 && privateKey[len(privateKey)-1] != '\n' {
		privateKey = append(append([]byte(nil), privateKey...), '\n')
	}
	must(t, os.WriteFile(keyFile, privateKey, 0o600))
	args := append(s.sshArgs(),
		"-i", keyFile,
		"-o", "IdentitiesOnly=yes",
		"-o", "BatchMode=yes",
		"-o", "PasswordAuthentication=no",
		"-o", "KbdInteractiveAuthentication=no",
		"-o", "PreferredAuthentications=publickey",
		s.Host, "true")
	return s.runSSH(t, args, nil)
}

// CanLoginPassword reports whether the real OpenSSH client logs in as the
// login user with password, by password or keyboard-interactive
// authentication (the password given through SSH_ASKPASS).
func (s *Server) CanLoginPassword(t testing.TB, password string) bool {
	t.Helper()
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "pw")
	must(t, os.WriteFile(pwFile, []byte(password+"\n"), 0o600))
	askpass := filepath.Join(dir, "askpass")
	must(t, os.WriteFile(askpass, []byte("#!/bin/sh\nexec cat '"+pwFile+"'\n"), 0o700))
	args := append(s.sshArgs(),
		"-o", "PubkeyAuthentication=no",
		"-o", "PreferredAuthentications=password,keyboard-interactive",
		"-o", "NumberOfPasswordPrompts=1",
		"-o", "BatchMode=no",
		s.Host, "true")
	env := []string{"SSH_ASKPASS=" + askpass, "SSH_ASKPASS_REQUIRE=force", "DISPLAY=sshdtest:0"}
	return s.runSSH(t, args, env)
}

// runSSH runs ssh and reports whether it logged in and ran `true`.
func (s *Server) runSSH(t testing.TB, args, env []string) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), loginTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/usr/bin/ssh", args...)
	cmd.Env = append([]string{"PATH=/usr/bin:/bin", "HOME=" + t.TempDir()}, env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	// No controlling terminal: the client must not prompt on one.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err := cmd.Run()
	if err == nil {
		return true
	}
	if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 255 && ctx.Err() == nil {
		t.Logf("sshdtest: ssh to %s refused: %s", s.Addr, bytes.TrimSpace(out.Bytes()))
		return false
	}
	t.Fatalf("sshdtest: ssh to %s: %v: %s", s.Addr, err, out.Bytes())
	return false
}
