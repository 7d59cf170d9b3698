package task_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/keyhaven/keyhaven/internal/testlog"
	"github.com/keyhaven/keyhaven/keypair"
	"github.com/keyhaven/keyhaven/policy"
	"github.com/keyhaven/keyhaven/store/sqlite"
	"github.com/keyhaven/keyhaven/task"
)

var (
	alice  = keypair.Actor{UserID: "alice", ProjectID: "p1", Roles: []string{policy.RoleMember}, RemoteAddr: "192.0.2.1:4000", RequestID: "req-a"}
	bob    = keypair.Actor{UserID: "bob", ProjectID: "p1", Roles: []string{policy.RoleMember}}
	reader = keypair.Actor{UserID: "rita", ProjectID: "p1", Roles: []string{policy.RoleReader}}
	mallet = keypair.Actor{UserID: "mallet", ProjectID: "p2", Roles: []string{policy.RoleMember}}
)

// env is a task service over a real SQLite store and the real key pair
// service.
type env struct {
	dir string
	st  *sqlite.Store
	kps *keypair.Service
	svc *task.Service
	log *syncBuffer
}

// newEnv opens a store in a temporary directory and a service on it with
// exec; tune adjusts the service's configuration.
func newEnv(t testing.TB, exec task.Executor, tune func(*task.Config)) *env {
	t.Helper()
	dir := t.TempDir()
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "k.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := &env{dir: dir, st: st, kps: keypair.NewService(keypair.Config{Store: st, Quota: 100}), log: &syncBuffer{}}
	cfg := task.Config{Store: st, Executor: exec, KeyPairs: e.kps, Instance: "inst-a",
		Log: slog.New(slog.NewTextHandler(e.log, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	if tune != nil {
		tune(&cfg)
	}
	e.svc = task.NewService(cfg)
	return e
}

// run starts the pool; it is stopped (and waited for) when the test ends,
// or by the returned function.
func (e *env) run(t testing.TB) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = e.svc.Run(ctx) }()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return stop
}

// keyPair is a generated Ed25519 key: its authorized_keys line and its
// private key in OpenSSH PEM.
type keyPair struct {
	pub  string
	priv []byte
}

func newKey(t testing.TB) keyPair {
	t.Helper()
	pk, sk, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sp, err := ssh.NewPublicKey(pk)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(sk, "")
	if err != nil {
		t.Fatal(err)
	}
	return keyPair{pub: strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sp))), priv: pem.EncodeToMemory(block)}
}

// addKeyPair imports k as actor's key pair name.
func (e *env) addKeyPair(t testing.TB, actor keypair.Actor, name string, k keyPair) *keypair.KeyPair {
	t.Helper()
	c, err := e.kps.Create(context.Background(), actor, keypair.CreateInput{Name: name, PublicKey: &k.pub})
	if err != nil {
		t.Fatal(err)
	}
	return c.KeyPair
}

// addServer registers a server of project at addr:port pinning hostKey.
func (e *env) addServer(t testing.TB, id, project, addr string, port int, user, hostKey, sshdConfig string) {
	t.Helper()
	if err := e.st.PutServer(context.Background(), &task.Server{ID: id, ProjectID: project, Name: "name-" + id, Address: addr,
		Port: port, User: user, HostKeys: []string{hostKey}, SSHDConfig: sshdConfig}); err != nil {
		t.Fatal(err)
	}
}

// wait polls the task until it is finished and returns it.
func (e *env) wait(t testing.TB, id string) *task.Task {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		tk, err := e.st.GetTask(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if tk.Phase.Finished() {
			return tk
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("task %s did not finish", id)
	return nil
}

// syncBuffer is a log sink tests read after the fact.
type syncBuffer = testlog.Buffer

// gate is an executor for the pool's own tests: it records how many jobs
// run at once and holds each until released or its context ends. The
// pool's bound and shutdown cannot be observed through a real sshd, which
// answers too fast to overlap and cannot be held.
type gate struct {
	mu          sync.Mutex
	running, mx int
	started     chan string
	release     chan struct{}
}

func newGate() *gate { return &gate{started: make(chan string, 100), release: make(chan struct{})} }

func (g *gate) Execute(ctx context.Context, job task.Job) error {
	g.mu.Lock()
	g.running++
	g.mx = max(g.mx, g.running)
	g.mu.Unlock()
	defer func() { g.mu.Lock(); g.running--; g.mu.Unlock() }()
	g.started <- job.Server.ID
	select {
	case <-g.release:
		return nil
	case <-ctx.Done():
		return task.Failf(task.FailTimeout, "held until the context ended")
	}
}

func (g *gate) max() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.mx
}
