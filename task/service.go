package task

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/keyhaven/keyhaven/keypair"
	"github.com/keyhaven/keyhaven/policy"
)

// The defaults of a Service's settings.
const (
	DefaultWorkers = 8
	// DefaultQueue bounds the tasks one instance holds waiting to run
	// (READY, their credentials in its memory): a member flooding
	// associate requests gets a 503 past it rather than growing the
	// process's memory and the queue without end.
	DefaultQueue = 1000
	// DefaultProjectQueue bounds the waiting tasks of one project on one
	// instance, so that one project's flood leaves room for the others.
	DefaultProjectQueue   = 100
	DefaultConnectTimeout = 10 * time.Second
	DefaultTaskTimeout    = 60 * time.Second
	// DefaultLease is how long a task stays this instance's without a
	// renewal; DefaultRenew how often it is renewed. A lease outlives a
	// few missed renewals, and a crashed instance's tasks are failed by
	// the others (or by itself when it restarts) once it has run out.
	DefaultLease = 20 * time.Second
	DefaultRenew = 5 * time.Second
	// DefaultPoll is how often the pool looks for tasks it was not woken
	// for: a task of this instance whose server was busy with another
	// instance's task.
	DefaultPoll = 2 * time.Second
	// DefaultShutdownGrace is how long running tasks may go on after Run's
	// context is done before they are cut off and failed.
	DefaultShutdownGrace = 10 * time.Second
)

// InterruptedMessage is the message of a task failed because the instance
// holding its credentials stopped.
const InterruptedMessage = "keyhaven stopped before the task finished; its credentials are not stored, submit it again"

// KeyPairs finds a key pair the caller may read, with the same visibility
// as showing it (*keypair.Service implements it).
type KeyPairs interface {
	Get(ctx context.Context, actor keypair.Actor, userID, name string) (*keypair.KeyPair, error)
}

// Access tells what a user may still do on a project when a task they
// submitted comes to run, which may be long after the request was
// authorised (*builtin.Service implements it).
type Access interface {
	// CurrentRoles returns the user's roles on the project now: none when
	// the user is deleted or disabled, or the project or a domain of
	// either is disabled.
	CurrentRoles(ctx context.Context, userID, projectID string) ([]string, error)
}

// Config is what a Service is made of.
type Config struct {
	// Store keeps the inventory and the tasks.
	Store Store
	// Executor does the SSH work.
	Executor Executor
	// KeyPairs resolves the key pair an associate names.
	KeyPairs KeyPairs
	// Access, when set, is asked again before a task runs, so that a task
	// of a user whose access was withdrawn while it waited fails instead
	// of acting for them. Nil (an identity service keyhaven cannot ask,
	// such as a remote Keystone) trusts the authorisation at submission.
	Access Access
	// Workers bounds the tasks this instance runs at once
	// (DefaultWorkers when 0).
	Workers int
	// Queue bounds the tasks accepted here and waiting to run, besides
	// the Workers running (DefaultQueue when 0); ProjectQueue bounds those
	// of one project (DefaultProjectQueue when 0, at most Queue).
	Queue, ProjectQueue int
	// ConnectTimeout bounds connecting and the SSH handshake, TaskTimeout
	// a whole task (defaults when 0).
	ConnectTimeout, TaskTimeout time.Duration
	// Lease, Renew and Poll tune the pool (defaults when 0); tests shorten
	// them.
	Lease, Renew, Poll time.Duration
	// ShutdownGrace is how long running tasks may finish after Run's
	// context is done (DefaultShutdownGrace when 0).
	ShutdownGrace time.Duration
	// Instance names this process among those sharing the store; it owns
	// the tasks it accepts, since only it holds their credentials.
	Instance string
	// Log receives the pool's errors; never a credential.
	Log *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Service accepts association requests, answers task queries and, in Run,
// does the tasks this instance accepted.
type Service struct {
	cfg  Config
	log  *slog.Logger
	now  func() time.Time
	wake chan struct{}

	mu      sync.Mutex
	pending map[string]*pending
	// closed is set when Run has stopped: no task is accepted after it,
	// since none would run. submits counts the submissions under way, so
	// Run's last sweep sees every task accepted before it closed.
	closed  bool
	submits sync.WaitGroup
}

// pending is what only memory holds for a task this instance accepted:
// the credentials, the keys to remove and who asked from where (for the
// audit entry of its end). It is wiped when the task ends.
type pending struct {
	creds      Credentials
	removeKeys []string
	keyPairUID string
	// domainID and roles are the caller's when the task was accepted:
	// the key pair is looked up again with them when the task runs
	// (roles then replaced by the current ones when Access is set).
	domainID string
	roles    []string
	// projectID is the task's, counted against the project's share of
	// the queue.
	projectID  string
	remoteAddr string
	requestID  string
}

// wipe overwrites the private key bytes; a password string cannot be
// overwritten in Go, so it is only dropped.
func (p *pending) wipe() {
	for i := range p.creds.PrivateKey {
		p.creds.PrivateKey[i] = 0
	}
	p.creds = Credentials{}
}

// NewService returns a Service; Run starts its worker pool.
func NewService(cfg Config) *Service {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if cfg.Workers <= 0 {
		cfg.Workers = DefaultWorkers
	}
	if cfg.Queue <= 0 {
		cfg.Queue = DefaultQueue
	}
	if cfg.ProjectQueue <= 0 {
		cfg.ProjectQueue = DefaultProjectQueue
	}
	cfg.ProjectQueue = min(cfg.ProjectQueue, cfg.Queue)
	def(&cfg.ConnectTimeout, DefaultConnectTimeout)
	def(&cfg.TaskTimeout, DefaultTaskTimeout)
	def(&cfg.Lease, DefaultLease)
	def(&cfg.Renew, DefaultRenew)
	def(&cfg.Poll, DefaultPoll)
	def(&cfg.ShutdownGrace, DefaultShutdownGrace)
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{cfg: cfg, log: cfg.Log, now: cfg.Now, wake: make(chan struct{}, 1), pending: map[string]*pending{}}
}

// Instance returns the name under which this service owns its tasks.
func (s *Service) Instance() string { return s.cfg.Instance }

// authorize asks the policy module whether actor may do action, which is
// about the caller's own project (tasks and servers belong to projects).
func authorize(actor keypair.Actor, action policy.Action, what string) error {
	if err := policy.Authorize(action, policy.Subject{UserID: actor.UserID, ProjectID: actor.ProjectID, Roles: actor.Roles}, policy.Target{}); err != nil {
		return forbidden(what)
	}
	return nil
}

// hold keeps p in memory for task id, and counts a submission under way
// (the caller calls s.submits.Done); it refuses once the pool has stopped,
// or when as many tasks as it may hold, in all or of p's project, already
// wait to run.
func (s *Service) hold(id string, p *pending) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return stopping()
	}
	if len(s.pending) >= s.cfg.Queue {
		return queueFull(s.cfg.Queue, s.cfg.ConnectTimeout)
	}
	n := 0
	for _, q := range s.pending {
		if q.projectID == p.projectID {
			n++
		}
	}
	if n >= s.cfg.ProjectQueue {
		return projectQueueFull(s.cfg.ProjectQueue, s.cfg.ConnectTimeout)
	}
	s.submits.Add(1)
	s.pending[id] = p
	return nil
}

// close refuses every later submission and waits for those under way.
func (s *Service) close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.submits.Wait()
}

// take removes and returns what memory holds for task id (nil: nothing,
// e.g. the task was accepted by an earlier run of this instance).
func (s *Service) take(id string) *pending {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pending[id]
	delete(s.pending, id)
	return p
}

// drop wipes and forgets what memory holds for task id.
func (s *Service) drop(id string) {
	if p := s.take(id); p != nil {
		p.wipe()
	}
}

// notify wakes the pool at once, so a task accepted here waits for no poll.
func (s *Service) notify() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}
