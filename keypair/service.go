package keypair

import (
	"context"
	"math"
	"strings"
	"unicode/utf8"

	"github.com/keyhaven/keyhaven/policy"
	"github.com/keyhaven/keyhaven/sshkey"
)

// DefaultQuota is the number of key pairs a user may own when the operator
// sets nothing else; it is Nova's default for the key_pairs quota.
const DefaultQuota = 100

// MaxNameLength is the longest key pair name any dialect accepts.
const MaxNameLength = 255

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

// Service applies keyhaven's rules to key pairs; every API dialect calls it.
type Service struct {
	store Store
	quota int
	gen   Generator
}

// Unlimited is the quota value that sets no limit.
const Unlimited = -1

// NewService returns a Service over store with the given per-user quota
// (Unlimited, or any negative value, for none) and generator (direct
// generation when nil).
func NewService(store Store, quota int, gen Generator) *Service {
	if quota < 0 {
		quota = math.MaxInt
	}
	if gen == nil {
		gen = directGenerator{}
	}
	return &Service{store: store, quota: quota, gen: gen}
}

// Quota returns the per-user key pair quota in force.
func (s *Service) Quota() int { return s.quota }

// CreateInput is what a caller asks for when creating a key pair.
type CreateInput struct {
	// Name of the new key pair; dialects validate its charset first.
	Name string
	// Type is ssh or x509; empty means ssh.
	Type Type
	// PublicKey to import; nil means generate a new key pair.
	PublicKey *string
	// UserID is the owner when an administrator acts for someone else;
	// empty means the caller.
	UserID string
}

// Created is a new key pair and, when it was generated, its private key,
// which is returned once and never stored.
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
}

// owner resolves the user a request acts on (the caller unless userID names
// another) and asks the policy module whether the caller may act there.
func owner(actor Actor, userID string, action Action) (string, error) {
	if userID == "" {
		userID = actor.UserID
	}
	subject := policy.Subject{UserID: actor.UserID, ProjectID: actor.ProjectID, Roles: actor.Roles}
	if err := policy.Authorize(policyActions[action], subject, policy.Target{UserID: userID}); err != nil {
		return "", Forbidden(action)
	}
	return userID, nil
}

// Create imports or generates a key pair. The order of checks is Nova's:
// policy, then quota (before the key is parsed or the name looked up), then
// the key, then uniqueness; the store re-checks quota and uniqueness in the
// insert's own transaction.
func (s *Service) Create(ctx context.Context, actor Actor, in CreateInput) (*Created, error) {
	user, err := owner(actor, in.UserID, ActionCreate)
	if err != nil {
		return nil, err
	}
	if err := ValidateName(in.Name); err != nil {
		return nil, err
	}
	typ := in.Type
	if typ == "" {
		typ = TypeSSH
	}
	if typ != TypeSSH && typ != TypeX509 {
		return nil, Errorf(EINVALID, "Key pair type %q is not one of ssh, x509.", typ)
	}
	n, err := s.store.CountKeyPairs(ctx, user)
	if err != nil {
		return nil, err
	}
	if n >= s.quota {
		return nil, QuotaExceeded()
	}

	kp := &KeyPair{UserID: user, ProjectID: actor.ProjectID, Name: in.Name, Type: typ}
	out := &Created{KeyPair: kp}
	if in.PublicKey != nil {
		kp.PublicKey = *in.PublicKey
		kp.Fingerprint, err = Fingerprint(typ, kp.PublicKey)
		if err != nil {
			return nil, err
		}
	} else {
		var g *sshkey.Generated
		if typ == TypeX509 {
			g, err = s.gen.GenerateX509(ctx, user)
		} else {
			g, err = s.gen.GenerateSSH(ctx)
		}
		if err != nil {
			return nil, err
		}
		kp.PublicKey, kp.Fingerprint, out.PrivateKey = g.PublicKey, g.Fingerprint, g.PrivateKey
	}
	if err := s.store.CreateKeyPair(ctx, kp, s.quota); err != nil {
		return nil, err
	}
	return out, nil
}

// Fingerprint validates public key material of type typ and returns its
// Nova fingerprint, or an EINVALID error with Nova's message.
func Fingerprint(typ Type, public string) (string, error) {
	if typ == TypeX509 {
		fp, err := sshkey.X509Fingerprint(public)
		if err != nil {
			return "", Errorf(EINVALID, "Keypair data is invalid: failed to generate X509 fingerprint. Error message: %s", err)
		}
		return fp, nil
	}
	pk, err := sshkey.ParseAuthorizedKey(public)
	if err != nil {
		return "", Errorf(EINVALID, "Keypair data is invalid: failed to generate fingerprint")
	}
	return pk.FingerprintMD5(), nil
}

// ValidateName applies the rules every dialect shares: 1 to MaxNameLength
// characters of valid UTF-8, no leading or trailing whitespace. Dialects
// check their own charsets before calling the service.
func ValidateName(name string) error {
	if name == "" || utf8.RuneCountInString(name) > MaxNameLength || !utf8.ValidString(name) {
		return Errorf(EINVALID, "Key pair name must be 1 to %d characters.", MaxNameLength)
	}
	if strings.TrimSpace(name) != name {
		return Errorf(EINVALID, "Key pair name can not start or end with whitespace.")
	}
	return nil
}

// Get returns the key pair called name of the caller, or of userID when an
// administrator names one.
func (s *Service) Get(ctx context.Context, actor Actor, userID, name string) (*KeyPair, error) {
	user, err := owner(actor, userID, ActionShow)
	if err != nil {
		return nil, err
	}
	return s.store.GetKeyPair(ctx, user, name)
}

// List returns a page of the key pairs of the caller, or of userID when an
// administrator names one, ordered by name.
func (s *Service) List(ctx context.Context, actor Actor, userID string, page Page) ([]*KeyPair, error) {
	user, err := owner(actor, userID, ActionList)
	if err != nil {
		return nil, err
	}
	return s.store.ListKeyPairs(ctx, user, page)
}

// Delete removes the key pair called name of the caller, or of userID when
// an administrator names one.
func (s *Service) Delete(ctx context.Context, actor Actor, userID, name string) error {
	user, err := owner(actor, userID, ActionDelete)
	if err != nil {
		return err
	}
	return s.store.DeleteKeyPair(ctx, user, name)
}

// directGenerator generates every key on demand with sshkey.
type directGenerator struct{}

func (directGenerator) GenerateSSH(context.Context) (*sshkey.Generated, error) {
	return sshkey.GenerateRSA(GeneratedKeyBits, sshkey.NovaComment)
}

func (directGenerator) GenerateX509(_ context.Context, userID string) (*sshkey.Generated, error) {
	return sshkey.GenerateX509(userID, GeneratedKeyBits)
}
