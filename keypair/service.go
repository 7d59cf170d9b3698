package keypair

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"math"
	"time"

	"github.com/keyhaven/keyhaven/policy"
	"github.com/keyhaven/keyhaven/sshkey"
)

// DefaultQuota is the number of key pairs a user may own when the operator
// sets nothing else; it is Nova's default for the key_pairs quota.
const DefaultQuota = 100

// Unlimited is the quota value that sets no limit.
const Unlimited = -1

// MaxNameLength is the longest key pair name any dialect accepts.
const MaxNameLength = 255

// MaxKMSKeyName is the longest kms_key_name or kms_key_id accepted, the
// length of a Huawei KMS key alias.
const MaxKMSKeyName = 255

// GeneratedKeyBits is the RSA modulus size of generated key pairs, Nova's.
const GeneratedKeyBits = 2048

// Generator makes new key material. sshkey provides the default; a pool of
// pre-generated keys can stand in front of it.
type Generator interface {
	// GenerateSSH returns a new RSA key pair for an ssh-type key pair.
	GenerateSSH(ctx context.Context) (*sshkey.Generated, error)
	// GenerateX509 returns a self-signed client certificate for userID and
	// its PKCS#12 bundle.
	GenerateX509(ctx context.Context, userID string) (*sshkey.Generated, error)
}

// Config is what a Service is made of.
type Config struct {
	// Store keeps key pairs and the audit log.
	Store Store
	// Quota is the per-user key pair quota; Unlimited (any negative value)
	// for none.
	Quota int
	// Generator makes keys; direct generation when nil.
	Generator Generator
	// GenerateConcurrency, when positive, bounds how many keys Generator
	// makes at once (see LimitGenerator); 0 sets no bound.
	GenerateConcurrency int
	// GenerateWait is how long a generation waits for a free slot before
	// it is refused with EBUSY; 0 refuses at once.
	GenerateWait time.Duration
	// GenerateLimit, when not nil, is the bound on generation, shared with
	// the key pool's refill; it takes the place of GenerateConcurrency and
	// GenerateWait.
	GenerateLimit *GenerateLimit
	// Pool, when not nil, answers RSA generation for ssh-type key pairs
	// first; the bounded generation is the fallback when it is empty.
	Pool KeyPool
	// Escrow seals private keys; nil means escrow is not offered.
	Escrow Escrow
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// RotationGrace is how long a rotation's previous key material is
	// kept; DefaultRotationGrace when 0.
	RotationGrace time.Duration
	// AfterRotate, when not nil, hears of every committed rotation.
	AfterRotate RotationFollower
}

// Service applies keyhaven's rules to key pairs; every API dialect calls it.
type Service struct {
	store  Store
	quota  int
	gen    Generator
	escrow Escrow
	now    func() time.Time
	grace  time.Duration
	follow RotationFollower
}

// NewService returns a Service.
func NewService(cfg Config) *Service {
	if cfg.Quota < 0 {
		cfg.Quota = math.MaxInt
	}
	if cfg.Generator == nil {
		cfg.Generator = directGenerator{}
	}
	switch {
	case cfg.GenerateLimit != nil:
		cfg.Generator = cfg.GenerateLimit.Generator(cfg.Generator)
	case cfg.GenerateConcurrency > 0:
		cfg.Generator = LimitGenerator(cfg.Generator, cfg.GenerateConcurrency, cfg.GenerateWait)
	}
	if cfg.Pool != nil {
		cfg.Generator = pooledGenerator{Generator: cfg.Generator, pool: cfg.Pool}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.RotationGrace <= 0 {
		cfg.RotationGrace = DefaultRotationGrace
	}
	return &Service{store: cfg.Store, quota: cfg.Quota, gen: cfg.Generator, escrow: cfg.Escrow, now: cfg.Now,
		grace: cfg.RotationGrace, follow: cfg.AfterRotate}
}

// Quota returns the per-user key pair quota in force.
func (s *Service) Quota() int { return s.quota }

// Protection asks for a private key to be kept in escrow.
type Protection struct {
	// PrivateKey is the private key of an imported public key; nil with
	// generation, where the generated key is kept.
	PrivateKey *string
	// Encryption says under which KMS key.
	Encryption Encryption
}

// CreateInput is what a caller asks for when creating a key pair.
type CreateInput struct {
	// Name of the new key pair; dialects validate its charset first.
	Name string
	// Type is ssh or x509; empty means ssh.
	Type Type
	// Scope is user or domain; empty means user.
	Scope Scope
	// PublicKey to import; nil means generate a new key pair.
	PublicKey *string
	// UserID is the owner when an administrator acts for someone else;
	// empty means the caller.
	UserID string
	// Protection, when not nil, keeps the private key in escrow.
	Protection *Protection
	// Spec, when not nil and PublicKey is nil, chooses the type and
	// private key format generated (keyhaven's own API); nil generates
	// what Nova does.
	Spec *KeySpec
	// Description is KPS's free text; empty for none.
	Description string
	// Tags and ExpiresAt are stored as the key pair's Details.
	Tags      []Tag
	ExpiresAt *time.Time
}

// Created is a new key pair and, when it was generated, its private key,
// which is returned once (and kept only sealed, if in escrow).
type Created struct {
	KeyPair    *KeyPair
	PrivateKey string
}

// policyActions maps the domain's actions to the policy module's.
var policyActions = map[Action]policy.Action{
	ActionCreate: policy.KeyPairCreate,
	ActionList:   policy.KeyPairList,
	ActionShow:   policy.KeyPairShow,
	ActionDelete: policy.KeyPairDelete,
	ActionUpdate: policy.KeyPairUpdate,
	ActionExport: policy.KeyPairExport,
}

func subject(a Actor) policy.Subject {
	return policy.Subject{UserID: a.UserID, ProjectID: a.ProjectID, Roles: a.Roles}
}

// owner resolves the user a request acts as (the caller unless userID names
// another) and asks the policy module whether the caller may act there.
func owner(actor Actor, userID string, action Action) (string, error) {
	if userID == "" {
		userID = actor.UserID
	}
	if err := policy.Authorize(policyActions[action], subject(actor), policy.Target{UserID: userID}); err != nil {
		return "", Forbidden(action)
	}
	return userID, nil
}

// viewer is whose key pairs a request sees: the caller's, with the
// caller's domain; or, for an administrator naming a user, that user's own.
func viewer(actor Actor, user string) Viewer {
	if user == actor.UserID {
		return Viewer{UserID: user, DomainID: actor.DomainID}
	}
	return Viewer{UserID: user}
}

// newUID returns 32 hex digits: the milliseconds of now, then 80 random
// bits. Ordered by time, a new key pair's uid lands at the end of the
// store's uid index, on the page the one before it touched, instead of on
// a random page of it (one page written per create, and at a million key
// pairs one page read); the creation time it tells is shown anyway.
func newUID(now time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now.UnixMilli())<<16)
	_, _ = rand.Read(b[6:])
	return hex.EncodeToString(b[:])
}

// Create imports or generates a key pair. The order of checks is Nova's:
// policy, then quota (before the key is parsed or the name looked up), then
// the key, then uniqueness; the store checks quota and uniqueness in the
// insert's own transaction, where a protected private key is sealed in.
func (s *Service) Create(ctx context.Context, actor Actor, in CreateInput) (*Created, error) {
	user, err := owner(actor, in.UserID, ActionCreate)
	if err != nil {
		return nil, err
	}
	if err := ValidateName(in.Name); err != nil {
		return nil, err
	}
	typ, scope := in.Type, in.Scope
	if typ == "" {
		typ = TypeSSH
	}
	if typ != TypeSSH && typ != TypeX509 {
		return nil, Errorf(EINVALID, "Key pair type %q is not one of ssh, x509.", typ)
	}
	if scope == "" {
		scope = ScopeUser
	}
	if scope != ScopeUser && scope != ScopeDomain {
		return nil, Errorf(EINVALID, "Key pair scope %q is not one of user, domain.", scope)
	}
	domain := ""
	if user == actor.UserID {
		domain = actor.DomainID
	}
	if scope == ScopeDomain && domain == "" {
		return nil, Errorf(EINVALID, "A domain-scope key pair is created by a user of that domain, for themself.")
	}
	if in.Protection != nil {
		if err := s.checkProtection(typ, in); err != nil {
			return nil, err
		}
	}
	details, err := s.checkDetails(typ, in)
	if err != nil {
		return nil, err
	}
	if in.PublicKey == nil || in.Protection != nil {
		// Generating and sealing cost far more than counting: refuse them
		// up front.
		if err := s.checkQuota(ctx, user); err != nil {
			return nil, err
		}
	}

	kp := &KeyPair{UID: newUID(s.now()), UserID: user, ProjectID: actor.ProjectID, DomainID: domain, Name: in.Name, Type: typ, Scope: scope, Details: details, Description: in.Description}
	out := &Created{KeyPair: kp}
	var private string
	if in.PublicKey != nil {
		kp.PublicKey = *in.PublicKey
		kp.Fingerprint, kp.Algorithm, err = describe(typ, kp.PublicKey)
		if err == nil && in.Protection != nil {
			private = *in.Protection.PrivateKey
			err = matchPrivate(kp.PublicKey, private)
		}
		if err != nil {
			// Nova checks quota before the key, so an owner at quota hears
			// that. A good key needs no count here: the store checks quota
			// in the insert's transaction, with the same error.
			if qerr := s.checkQuota(ctx, user); qerr != nil {
				return nil, qerr
			}
			return nil, err
		}
	} else {
		var g *sshkey.Generated
		if in.Spec != nil && typ == TypeSSH {
			g, err = s.generateSpec(ctx, *in.Spec)
		} else if typ == TypeX509 {
			g, err = s.gen.GenerateX509(ctx, user)
		} else {
			g, err = s.gen.GenerateSSH(ctx)
		}
		if err != nil {
			return nil, err
		}
		kp.PublicKey, kp.Fingerprint, out.PrivateKey = g.PublicKey, g.Fingerprint, g.PrivateKey
		if _, kp.Algorithm, err = describe(typ, kp.PublicKey); err != nil {
			return nil, err
		}
		private = g.PrivateKey
	}
	if in.Protection != nil {
		if kp.Escrow, err = s.escrow.Seal(ctx, kp.UID, []byte(private), in.Protection.Encryption); err != nil {
			return nil, err
		}
	}
	var entry *AuditEntry
	if kp.Escrow != nil {
		entry = s.entry(actor, kp, AuditCreateEscrowed)
	}
	if err := s.store.CreateKeyPair(ctx, kp, s.quota, entry); err != nil {
		return nil, err
	}
	return out, nil
}

// checkQuota refuses a new key pair for user when they own their quota.
func (s *Service) checkQuota(ctx context.Context, user string) error {
	n, err := s.store.CountKeyPairs(ctx, user)
	if err != nil {
		return err
	}
	if n >= s.quota {
		return QuotaExceeded()
	}
	return nil
}

// checkProtection validates a key_protection request before anything is
// generated or stored.
func (s *Service) checkProtection(typ Type, in CreateInput) error {
	if s.escrow == nil {
		return Errorf(EINVALID, "This service keeps no private keys in escrow.").WithReason(ReasonEscrowUnsupported)
	}
	if typ != TypeSSH {
		return Errorf(EINVALID, "Only ssh key pairs can keep their private key in escrow.")
	}
	if in.PublicKey != nil && in.Protection.PrivateKey == nil {
		return Errorf(EINVALID, "To keep an imported key pair's private key in escrow, give the private key.")
	}
	if in.PublicKey == nil && in.Protection.PrivateKey != nil {
		return Errorf(EINVALID, "A private key can only be given with the public key it belongs to.")
	}
	return checkEncryption(in.Protection.Encryption)
}

func checkEncryption(e Encryption) error {
	switch e.Type {
	case "default":
		return nil
	case "kms":
		if e.KMSKeyName == "" && e.KMSKeyID == "" {
			return Errorf(EINVALID, "Encryption type kms needs kms_key_name or kms_key_id.")
		}
		if len(e.KMSKeyName) > MaxKMSKeyName || len(e.KMSKeyID) > MaxKMSKeyName {
			return Errorf(EINVALID, "kms_key_name and kms_key_id are at most %d characters.", MaxKMSKeyName)
		}
		return nil
	}
	return Errorf(EINVALID, "Encryption type %q is not one of default, kms.", e.Type)
}

// Get returns the key pair called name that the caller sees (their own or
// one shared with their domain), or that userID owns when an administrator
// names one.
func (s *Service) Get(ctx context.Context, actor Actor, userID, name string) (*KeyPair, error) {
	user, err := owner(actor, userID, ActionShow)
	if err != nil {
		return nil, err
	}
	return s.store.GetKeyPair(ctx, viewer(actor, user), name)
}

// List returns a page of the key pairs the caller sees, or that userID
// owns when an administrator names one, ordered by name.
func (s *Service) List(ctx context.Context, actor Actor, userID string, page Page) ([]Listed, error) {
	user, err := owner(actor, userID, ActionList)
	if err != nil {
		return nil, err
	}
	return s.store.ListKeyPairs(ctx, viewer(actor, user), page)
}

// resolve finds a key pair the caller sees and checks that the caller may
// perform action on it, as its owner or an administrator: a key pair
// shared with the domain may be read by all, changed by its owner.
func (s *Service) resolve(ctx context.Context, actor Actor, userID, name string, action Action) (*KeyPair, error) {
	user, err := owner(actor, userID, ActionShow)
	if err != nil {
		return nil, Forbidden(action)
	}
	kp, err := s.store.GetKeyPair(ctx, viewer(actor, user), name)
	if err != nil {
		return nil, err
	}
	if _, err := owner(actor, kp.UserID, action); err != nil {
		return nil, err
	}
	return kp, nil
}

// Delete removes the key pair called name that the caller may delete. The
// store logs the deletion when the key pair held a private key in escrow
// (a private key may have been imported since kp was read, so the store,
// not kp, decides).
func (s *Service) Delete(ctx context.Context, actor Actor, userID, name string) error {
	kp, err := s.resolve(ctx, actor, userID, name, ActionDelete)
	if err != nil {
		return err
	}
	if err := s.store.DeleteKeyPair(ctx, kp.ID, s.entry(actor, kp, AuditDeleteEscrowed)); ErrorCode(err) == ENOTFOUND {
		return NotFound(name, kp.UserID)
	} else if err != nil {
		return err
	}
	return nil
}

// UpdateDescription sets a key pair's description.
func (s *Service) UpdateDescription(ctx context.Context, actor Actor, name, description string) (*KeyPair, error) {
	kp, err := s.resolve(ctx, actor, "", name, ActionUpdate)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	if err := s.store.UpdateDescription(ctx, kp.ID, description, now); err != nil {
		return nil, err
	}
	kp.Description, kp.UpdatedAt = description, now
	return kp, nil
}

type directGenerator struct{}

func (directGenerator) GenerateSSH(context.Context) (*sshkey.Generated, error) {
	return sshkey.GenerateRSA(GeneratedKeyBits, sshkey.NovaComment)
}

func (directGenerator) GenerateX509(_ context.Context, userID string) (*sshkey.Generated, error) {
	return sshkey.GenerateX509(userID, GeneratedKeyBits)
}
