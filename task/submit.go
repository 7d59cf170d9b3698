package task

import (
	"context"
	"errors"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/keyhaven/keyhaven/keypair"
	"github.com/keyhaven/keyhaven/policy"
)

// MaxBatch is the most associations one batch may ask for, as Huawei's
// KPS allows.
const MaxBatch = 10

// MaxKeyLength bounds server.auth.key (a password or a private key): an
// RSA-16384 private key in PEM fits.
const MaxKeyLength = 16 << 10

// AssociateInput is one request to put a key pair on a server.
type AssociateInput struct {
	// KeyPairName names a key pair the caller may read.
	KeyPairName string
	// ServerID names a server of the caller's project.
	ServerID string
	// Credentials log in: a password makes a BIND, a private key a
	// REPLACE of that key; nil is refused (keyhaven cannot RESET).
	Credentials *Credentials
	// DisablePassword turns SSH password login off once the key works.
	DisablePassword bool
	// Port overrides the inventory's SSH port when not 0.
	Port int
}

// DisassociateInput is one request to take a server's key pair off it.
type DisassociateInput struct {
	// ServerID names a server of the caller's project with a key pair
	// associated.
	ServerID string
	// Credentials log in (a password or a private key); nil is refused.
	Credentials *Credentials
	// Port overrides the inventory's SSH port when not 0.
	Port int
}

// Associate accepts a task putting a key pair on a server and returns it
// (READY). The caller must be allowed to read the key pair and the server
// must be in the caller's project; the work happens in Run.
func (s *Service) Associate(ctx context.Context, actor keypair.Actor, in AssociateInput) (*Task, error) {
	if err := authorize(actor, policy.TaskAssociate, "associate key pairs with servers"); err != nil {
		return nil, err
	}
	if in.KeyPairName == "" {
		return nil, invalid("keypair_name is required.")
	}
	if err := checkLogin(in.ServerID, in.Credentials, in.Port); err != nil {
		return nil, err
	}
	srv, err := s.server(ctx, actor, in.ServerID)
	if err != nil {
		return nil, err
	}
	kp, err := s.cfg.KeyPairs.Get(ctx, actor, "", in.KeyPairName)
	if err != nil {
		return nil, err
	}
	if kp.Type != keypair.TypeSSH {
		return nil, invalid("Key pair %s is of type %s; only ssh key pairs can be put on a server.", kp.Name, kp.Type)
	}
	p := &pending{creds: copyCredentials(*in.Credentials), keyPairUID: kp.UID, remoteAddr: actor.RemoteAddr, requestID: actor.RequestID,
		domainID: actor.DomainID, roles: actor.Roles, projectID: actor.ProjectID}
	op := Bind
	if len(in.Credentials.PrivateKey) > 0 {
		op = Replace
		old, err := publicKeyOf(in.Credentials.PrivateKey)
		if err != nil {
			return nil, err
		}
		p.removeKeys = []string{old}
	}
	t := s.newTask(actor, srv, op)
	t.KeyPairName, t.KeyPairID, t.PublicKey = kp.Name, kp.ID, kp.PublicKey
	t.DisablePassword, t.Port = in.DisablePassword, in.Port
	return t, s.submit(ctx, t, p)
}

// Disassociate accepts a task taking the key pair associated with a
// server off it (UNBIND) and turning password login back on if the
// associate had turned it off. Servers belong to the project: any member
// of it may disassociate, whoever associated, even when the key pair has
// since been deleted.
func (s *Service) Disassociate(ctx context.Context, actor keypair.Actor, in DisassociateInput) (*Task, error) {
	if err := authorize(actor, policy.TaskDisassociate, "disassociate key pairs from servers"); err != nil {
		return nil, err
	}
	if err := checkLogin(in.ServerID, in.Credentials, in.Port); err != nil {
		return nil, err
	}
	srv, err := s.server(ctx, actor, in.ServerID)
	if err != nil {
		return nil, err
	}
	if srv.KeyPairName == "" || srv.PublicKey == "" {
		return nil, notAssociated(srv.ID)
	}
	if len(in.Credentials.PrivateKey) > 0 {
		if _, err := publicKeyOf(in.Credentials.PrivateKey); err != nil {
			return nil, err
		}
	}
	p := &pending{creds: copyCredentials(*in.Credentials), remoteAddr: actor.RemoteAddr, requestID: actor.RequestID,
		domainID: actor.DomainID, roles: actor.Roles, projectID: actor.ProjectID}
	t := s.newTask(actor, srv, Unbind)
	t.KeyPairName, t.KeyPairID, t.PublicKey, t.Port = srv.KeyPairName, srv.KeyPairID, srv.PublicKey, in.Port
	return t, s.submit(ctx, t, p)
}

// BatchResult is the outcome of one item of a batch: the task accepted,
// or why the item was refused.
type BatchResult struct {
	// ServerID is the item's server.
	ServerID string
	// Task is the accepted task, nil when Err is not.
	Task *Task
	// Err is why the item was refused (a domain error of its own).
	Err error
}

// BatchAssociate accepts up to MaxBatch associations, each on its own: an
// item refused (unknown server, key pair the caller cannot read…) does
// not stop the others. An error that is not the item's own (the store
// failing) is returned for the whole batch.
func (s *Service) BatchAssociate(ctx context.Context, actor keypair.Actor, in []AssociateInput) ([]BatchResult, error) {
	if err := authorize(actor, policy.TaskAssociate, "associate key pairs with servers"); err != nil {
		return nil, err
	}
	if len(in) == 0 || len(in) > MaxBatch {
		return nil, invalid("batch_keypairs must list 1 to %d associations; it lists %d.", MaxBatch, len(in))
	}
	out := make([]BatchResult, 0, len(in))
	for _, item := range in {
		t, err := s.Associate(ctx, actor, item)
		if keypair.ErrorCode(err) == keypair.EINTERNAL {
			return nil, err
		}
		out = append(out, BatchResult{ServerID: item.ServerID, Task: t, Err: err})
	}
	return out, nil
}

// checkLogin checks what every request that logs in needs: a server id,
// credentials, a port.
func checkLogin(serverID string, c *Credentials, port int) error {
	switch {
	case serverID == "":
		return invalid("server.id is required.")
	case len(serverID) > MaxIDLength:
		return invalid("server.id must be at most %d characters.", MaxIDLength)
	case port < 0 || port > 65535:
		return invalid("server.port must be from 1 to 65535.")
	case c == nil:
		return authRequired()
	case c.Password == "" && len(c.PrivateKey) == 0:
		return invalid("server.auth.key is required: the login user's password, or a private key that logs in today.")
	case c.Password != "" && len(c.PrivateKey) > 0:
		return invalid("server.auth carries a password or a private key, not both.")
	case len(c.Password) > MaxKeyLength || len(c.PrivateKey) > MaxKeyLength:
		return invalid("server.auth.key must be at most %d bytes.", MaxKeyLength)
	}
	return nil
}

// server returns the inventory entry id if it belongs to the caller's
// project. Another project's server is answered exactly as an unknown
// one: a 404 tells a caller nothing about other projects, where a 403
// would confirm the server exists.
func (s *Service) server(ctx context.Context, actor keypair.Actor, id string) (*Server, error) {
	srv, err := s.cfg.Store.GetServer(ctx, id)
	if keypair.ErrorCode(err) == keypair.ENOTFOUND || (err == nil && srv.ProjectID != actor.ProjectID) {
		return nil, serverNotFound(id, actor.ProjectID)
	}
	return srv, err
}

// publicKeyOf returns the authorized_keys line of a private key's public
// half; the error names neither the key nor its bytes.
func publicKeyOf(private []byte) (string, error) {
	signer, err := ssh.ParsePrivateKey(private)
	if err != nil {
		var pme *ssh.PassphraseMissingError
		if errors.As(err, &pme) {
			return "", invalid("server.auth.key is a private key protected by a passphrase; give it without one.")
		}
		return "", keypair.Errorf(keypair.EINVALID, "server.auth.key is not a private key keyhaven can read (PEM or OpenSSH format).").WithReason(keypair.ReasonPrivateKeyInvalid)
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey()))), nil
}

// copyCredentials copies c so that wiping the task's copy never touches
// the caller's bytes, and the caller's reuse never changes the task's.
func copyCredentials(c Credentials) Credentials {
	return Credentials{Password: c.Password, PrivateKey: append([]byte(nil), c.PrivateKey...)}
}

func (s *Service) newTask(actor keypair.Actor, srv *Server, op Operation) *Task {
	now := s.now().UTC()
	return &Task{ID: NewID(), ProjectID: actor.ProjectID, UserID: actor.UserID, ServerID: srv.ID, ServerName: srv.Name,
		Operation: op, Phase: Ready, Owner: s.cfg.Instance, LeaseUntil: now.Add(s.cfg.Lease), CreatedAt: now}
}

// submit keeps the task's secrets in memory, then writes the task with its
// audit entry, and wakes the pool. The memory comes first so that the
// pool, which may claim the task the moment it is written, finds them.
func (s *Service) submit(ctx context.Context, t *Task, p *pending) error {
	if err := s.hold(t.ID, p); err != nil {
		p.wipe()
		return err
	}
	defer s.submits.Done()
	if err := s.cfg.Store.CreateTask(ctx, t, s.audit(t, p)); err != nil {
		s.drop(t.ID)
		if keypair.ErrorCode(err) == keypair.ENOTFOUND {
			return serverNotFound(t.ServerID, t.ProjectID) // removed from the inventory meanwhile
		}
		return err
	}
	s.notify()
	return nil
}
