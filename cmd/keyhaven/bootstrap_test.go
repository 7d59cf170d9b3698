package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/identity"
	"github.com/keyhaven/keyhaven/identity/builtin"
	"github.com/keyhaven/keyhaven/identity/password"
	"github.com/keyhaven/keyhaven/store/sqlite"
)

// process is a real keyhaven binary started by a test.
type process struct {
	cmd     *exec.Cmd
	srv     *testServer
	serving chan struct{} // closed once it logs "keyhaven serving"
	exited  chan struct{} // closed once it has exited; err is then set
	err     error

	mu  sync.Mutex
	out strings.Builder // everything it wrote to stderr
}

// startProcess starts `keyhaven serve` on a free port with env added to
// the test's environment; the process is killed when the test ends.
func startProcess(t *testing.T, bin string, env []string, args ...string) *process {
	t.Helper()
	addr := freeAddr(t)
	cmd := exec.Command(bin, append([]string{"serve", "--listen", addr, "--keygen-pool", "0"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, srv: &testServer{URL: "http://" + addr}, serving: make(chan struct{}), exited: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(stderr)
		serving := false
		for sc.Scan() {
			p.mu.Lock()
			p.out.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			if !serving && strings.Contains(sc.Text(), "keyhaven serving") {
				serving = true
				close(p.serving)
			}
		}
		p.err = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() { p.kill(syscall.SIGKILL) })
	return p
}

// output returns what the process has written to stderr so far.
func (p *process) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// waitServing waits until the process serves, failing the test if it
// exits first or takes more than a minute.
func (p *process) waitServing(t *testing.T) {
	t.Helper()
	select {
	case <-p.serving:
	case <-p.exited:
		t.Fatalf("keyhaven exited before serving: %v\n%s", p.err, p.output())
	case <-time.After(time.Minute):
		t.Fatalf("keyhaven did not start within a minute:\n%s", p.output())
	}
}

// kill sends sig and waits for the process to exit.
func (p *process) kill(sig syscall.Signal) {
	_ = p.cmd.Process.Signal(sig)
	<-p.exited
}

// checkAdmin logs in as admin with pw, scoped to the admin project, and
// uses the admin role: listing the users must succeed. It returns the
// token.
func checkAdmin(t *testing.T, srv *testServer, pw string) string {
	t.Helper()
	return checkAdminUser(t, srv, "admin", pw)
}

// checkAdminUser is checkAdmin for the user called name.
func checkAdminUser(t *testing.T, srv *testServer, name, pw string) string {
	t.Helper()
	body := `{"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": ` + jsonString(name) + `, "domain": {"id": "default"}, "password": ` + jsonString(pw) + `}}},
		"scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}}`
	resp, raw := srv.do(t, "POST", "/identity/v3/auth/tokens", map[string]string{"Content-Type": "application/json"}, body)
	tok := resp.Header.Get("X-Subject-Token")
	if resp.StatusCode != 201 || tok == "" {
		t.Fatalf("admin login scoped to the admin project: %d %s", resp.StatusCode, raw)
	}
	if resp, raw := srv.do(t, "GET", "/identity/v3/users", map[string]string{"X-Auth-Token": tok}, ""); resp.StatusCode != 200 {
		t.Fatalf("admin lists users: %d %s", resp.StatusCode, raw)
	}
	return tok
}

// logSizes records the sizes the file at path goes through until the
// process serves or exits, and sends them, in order, when it does.
func logSizes(p *process, path string) <-chan []int64 {
	out := make(chan []int64, 1)
	go func() {
		var sizes []int64
		for {
			if fi, err := os.Stat(path); err == nil && fi.Size() > 0 && (len(sizes) == 0 || fi.Size() != sizes[len(sizes)-1]) {
				sizes = append(sizes, fi.Size())
			}
			select {
			case <-p.serving:
				out <- sizes
				return
			case <-p.exited:
				out <- sizes
				return
			case <-time.After(50 * time.Microsecond):
			}
		}
	}()
	return out
}

// waitLogSize returns once the file at path has at least size bytes or
// the process has exited.
func waitLogSize(p *process, path string, size int64) {
	// A start need not grow its log through the first start's sizes (a
	// checkpoint may truncate it first): once it serves, the moment is
	// past, and the kill lands after serving instead of never.
	for {
		if fi, err := os.Stat(path); err == nil && fi.Size() >= size {
			return
		}
		select {
		case <-p.exited:
			return
		case <-p.serving:
			return
		case <-time.After(50 * time.Microsecond):
		}
	}
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TestBootstrapSurvivesKill9 kills real first starts with SIGKILL at
// random moments, 20 times, each on a new data directory: every time, the
// next start completes and the admin can log in and act as admin.
func TestBootstrapSurvivesKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and starts it 41 times")
	}
	bin := buildBinary(t)
	const pw = "kill9-admin-pw"
	env := []string{"KEYHAVEN_BOOTSTRAP_PASSWORD=" + pw}
	// One uninterrupted first start gives the span the kills are spread
	// over, and the sizes its write-ahead log went through, one per
	// commit or so (bounds for the random moments, not measurements).
	began := time.Now()
	data := filepath.Join(t.TempDir(), "data")
	p := startProcess(t, bin, env, "--data-dir", data)
	sizes := logSizes(p, filepath.Join(data, "keyhaven.db-wal"))
	p.waitServing(t)
	span := time.Since(began)
	p.kill(syscall.SIGTERM)
	walSizes := <-sizes
	if len(walSizes) == 0 {
		t.Fatal("the first start wrote no write-ahead log")
	}

	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d, first start %v, write-ahead log sizes %v", seed, span, walSizes)
	rng := rand.New(rand.NewPCG(seed, 0))
	beforeServing := 0
	for round := range 20 {
		t.Run(fmt.Sprintf("round%02d", round), func(t *testing.T) {
			data := filepath.Join(t.TempDir(), "data")
			p := startProcess(t, bin, env, "--data-dir", data)
			// Even rounds kill at a random time of the start; odd ones once
			// the log has grown to one of the sizes it went through, which
			// lands the kill between two of the start's commits,
			// bootstrap's among them.
			var at string
			if round%2 == 0 {
				d := time.Duration(rng.Int64N(int64(span)))
				time.Sleep(d)
				at = d.String() + " after the start"
			} else {
				size := walSizes[rng.IntN(len(walSizes))]
				waitLogSize(p, filepath.Join(data, "keyhaven.db-wal"), size)
				at = fmt.Sprintf("the log at %d bytes", size)
			}
			p.kill(syscall.SIGKILL)
			select {
			case <-p.serving:
				at += ", after it served"
			default:
				beforeServing++
			}
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("killed at %s:\n%s", at, p.output())
				}
			})
			again := startProcess(t, bin, env, "--data-dir", data)
			again.waitServing(t)
			checkAdmin(t, again.srv, pw)
			again.kill(syscall.SIGTERM)
		})
		if t.Failed() {
			t.FailNow()
		}
	}
	t.Logf("%d of 20 kills landed before the first start served", beforeServing)
}

// TestBootstrapRepairsHalfDone starts keyhaven on databases an older
// version's interrupted bootstrap left behind: the start completes it,
// and the existing admin keeps its password.
func TestBootstrapRepairsHalfDone(t *testing.T) {
	tests := []struct {
		name    string
		project bool
	}{
		{"admin without its role", true},
		{"admin without the admin project", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			db := filepath.Join(t.TempDir(), "keyhaven.db")
			st, err := sqlite.Open(ctx, db, sqlite.Options{})
			if err != nil {
				t.Fatal(err)
			}
			// What the older Bootstrap had written when it was killed.
			hash, err := password.NewHasher(password.Default, 1).Hash(ctx, "old-pw")
			if err != nil {
				t.Fatal(err)
			}
			must := func(err error) {
				t.Helper()
				if err != nil {
					t.Fatal(err)
				}
			}
			must(st.CreateDomain(ctx, &identity.Domain{ID: builtin.DefaultDomainID, Name: "Default", Enabled: true}))
			for _, r := range []string{"admin", "member", "reader"} {
				must(st.CreateRole(ctx, &identity.Role{ID: builtin.NewID(), Name: r}))
			}
			if tc.project {
				must(st.CreateProject(ctx, &identity.Project{ID: builtin.NewID(), Name: "admin", DomainID: builtin.DefaultDomainID, Enabled: true}))
			}
			must(st.CreateUser(ctx, &identity.User{ID: builtin.NewID(), Name: "admin", DomainID: builtin.DefaultDomainID, PasswordHash: hash, Enabled: true}))
			must(st.Close())

			srv := startServer(t, "", "--database", db, "--bootstrap-password", "new-pw")
			checkAdmin(t, srv, "old-pw")
			body := `{"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "admin", "domain": {"id": "default"}, "password": "new-pw"}}}}}`
			if resp, _ := srv.do(t, "POST", "/identity/v3/auth/tokens", map[string]string{"Content-Type": "application/json"}, body); resp.StatusCode != 401 {
				t.Fatalf("the repair reset the existing admin's password: login with the bootstrap password: %d", resp.StatusCode)
			}
		})
	}
}

// TestBootstrapDoneStaysDone renames the bootstrapped admin away and
// restarts: the start makes no new admin user (with the bootstrap password
// still in its environment), and the renamed one keeps its role.
func TestBootstrapDoneStaysDone(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	const pw = "done-admin-pw"
	env := []string{"KEYHAVEN_BOOTSTRAP_PASSWORD=" + pw}
	data := filepath.Join(t.TempDir(), "data")
	p := startProcess(t, bin, env, "--data-dir", data)
	p.waitServing(t)
	tok := checkAdmin(t, p.srv, pw)
	h := map[string]string{"X-Auth-Token": tok, "Content-Type": "application/json"}
	resp, raw := p.srv.do(t, "GET", "/identity/v3/users?name=admin", h, "")
	var list struct{ Users []struct{ ID string } }
	if err := json.Unmarshal(raw, &list); resp.StatusCode != 200 || err != nil || len(list.Users) != 1 {
		t.Fatalf("find admin: %d %s %v", resp.StatusCode, raw, err)
	}
	if resp, raw := p.srv.do(t, "PATCH", "/identity/v3/users/"+list.Users[0].ID, h, `{"user": {"name": "root"}}`); resp.StatusCode != 200 {
		t.Fatalf("rename admin: %d %s", resp.StatusCode, raw)
	}
	p.kill(syscall.SIGTERM)

	again := startProcess(t, bin, env, "--data-dir", data)
	again.waitServing(t)
	tok = checkAdminUser(t, again.srv, "root", pw)
	resp, raw = again.srv.do(t, "GET", "/identity/v3/users?name=admin", map[string]string{"X-Auth-Token": tok}, "")
	if err := json.Unmarshal(raw, &list); resp.StatusCode != 200 || err != nil || len(list.Users) != 0 {
		t.Fatalf("after a restart, users called admin: %d %s %v; want none", resp.StatusCode, raw, err)
	}
}

// TestBootstrapFourAtOnce starts four real keyhaven processes at the same
// moment on one fresh PostgreSQL database and one data directory, with a
// generated admin password: all four serve, exactly one prints the
// password, the admin logs in through each, and there is one admin user,
// one admin project and one set of roles.
func TestBootstrapFourAtOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	db := postgresURL(t)
	bin := buildBinary(t)
	data := filepath.Join(t.TempDir(), "shared-data")
	const n = 4
	procs := make([]*process, n)
	for i := range procs {
		procs[i] = startProcess(t, bin, nil, "--database", db, "--data-dir", data)
	}
	var passwords []string
	for i, p := range procs {
		p.waitServing(t)
		for _, line := range strings.Split(p.output(), "\n") {
			if _, pw, ok := strings.Cut(line, "admin password (shown once): "); ok {
				passwords = append(passwords, pw)
				t.Logf("instance %d created the admin", i)
			}
		}
	}
	if len(passwords) != 1 {
		t.Fatalf("%d instances printed an admin password, want 1: %q", len(passwords), passwords)
	}
	var tok string
	for _, p := range procs {
		tok = checkAdmin(t, p.srv, passwords[0])
	}
	h := map[string]string{"X-Auth-Token": tok}
	count := func(path, key, name string) int {
		t.Helper()
		resp, raw := procs[0].srv.do(t, "GET", path, h, "")
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", path, resp.StatusCode, raw)
		}
		var body map[string]json.RawMessage
		var list []struct{ Name string }
		if err := json.Unmarshal(raw, &body); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if err := json.Unmarshal(body[key], &list); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		c := 0
		for _, x := range list {
			if x.Name == name {
				c++
			}
		}
		return c
	}
	for _, c := range []struct{ path, key, name string }{
		{"/identity/v3/users", "users", "admin"},
		{"/identity/v3/projects", "projects", "admin"},
		{"/identity/v3/domains", "domains", "Default"},
		{"/identity/v3/roles", "roles", "admin"},
		{"/identity/v3/roles", "roles", "member"},
		{"/identity/v3/roles", "roles", "reader"},
	} {
		if got := count(c.path, c.key, c.name); got != 1 {
			t.Errorf("%s: %d called %q, want 1", c.path, got, c.name)
		}
	}
}
