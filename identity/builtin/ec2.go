package builtin

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/keyhaven/keyhaven/identity"
)

// EC2 is an EC2-style credential with its secret opened.
type EC2 struct {
	Access, Secret, UserID, ProjectID string
}

// CreateEC2 makes a new access key / secret key pair for the user on the
// project, where the user must hold a role.
func (s *Service) CreateEC2(ctx context.Context, userID, projectID string) (*EC2, error) {
	names, err := s.store.RoleNames(ctx, userID, projectID)
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("user %s has no role on project %s: %w", userID, projectID, identity.ErrNotFound)
	}
	c := &EC2{Access: randomHex(16), Secret: randomHex(16), UserID: userID, ProjectID: projectID}
	sealed, err := s.seal(c.Access, c.Secret)
	if err != nil {
		return nil, err
	}
	if err := s.store.CreateEC2Credential(ctx, &identity.EC2Credential{Access: c.Access, SealedSecret: sealed,
		UserID: userID, ProjectID: projectID, CreatedAt: s.now().UTC()}); err != nil {
		return nil, err
	}
	return c, nil
}

// GetEC2 returns one of the user's credentials.
func (s *Service) GetEC2(ctx context.Context, userID, access string) (*EC2, error) {
	c, err := s.store.GetEC2Credential(ctx, access)
	if err != nil {
		return nil, err
	}
	if c.UserID != userID {
		return nil, fmt.Errorf("credential: %w", identity.ErrNotFound)
	}
	return s.open(c)
}

// ListEC2 returns the user's credentials, secrets included, as Keystone's
// OS-EC2 API does.
func (s *Service) ListEC2(ctx context.Context, userID string) ([]*EC2, error) {
	cs, err := s.store.ListEC2Credentials(ctx, userID)
	if err != nil {
		return nil, err
	}
	out := make([]*EC2, 0, len(cs))
	for _, c := range cs {
		e, err := s.open(c)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// DeleteEC2 removes one of the user's credentials.
func (s *Service) DeleteEC2(ctx context.Context, userID, access string) error {
	err := s.store.DeleteEC2Credential(ctx, userID, access)
	s.secrets.clear()
	return err
}

// LookupSecret implements identity.SecretSource: the secret of an access
// key and the principal it authenticates as (the user, on the
// credential's project, with the user's current roles there).
// The answer is cached until the next Reload (secrets.go).
func (s *Service) LookupSecret(ctx context.Context, access string) (string, identity.Principal, error) {
	if e, ok := s.secrets.get(access); ok {
		if !s.access.enabled(e.p.UserID, e.p.DomainID, e.p.ProjectID) {
			return "", identity.Principal{}, identity.Unauthenticated("the credential's user, project or domain is disabled")
		}
		return e.secret, e.p, nil
	}
	epoch := s.secrets.begin()
	c, err := s.store.GetEC2Credential(ctx, access)
	if errors.Is(err, identity.ErrNotFound) {
		return "", identity.Principal{}, identity.ErrUnknownAccessKey
	}
	if err != nil {
		return "", identity.Principal{}, err
	}
	u, err := s.store.GetUser(ctx, c.UserID)
	if errors.Is(err, identity.ErrNotFound) {
		return "", identity.Principal{}, identity.ErrUnknownAccessKey
	}
	if err != nil {
		return "", identity.Principal{}, err
	}
	if !u.Enabled || !s.access.enabled(u.ID, u.DomainID, c.ProjectID) {
		return "", identity.Principal{}, identity.Unauthenticated("the credential's user, project or domain is disabled")
	}
	e, err := s.open(c)
	if err != nil {
		return "", identity.Principal{}, err
	}
	roles, err := s.store.RoleNames(ctx, c.UserID, c.ProjectID)
	if err != nil {
		return "", identity.Principal{}, err
	}
	if len(roles) == 0 {
		// As Keystone's ec2tokens: a credential works only while its user
		// holds a role on its project.
		return "", identity.Principal{}, identity.Unauthenticated("the credential's user has no role on its project")
	}
	p := identity.Principal{UserID: c.UserID, ProjectID: c.ProjectID, DomainID: u.DomainID, Roles: roles}
	s.secrets.put(epoch, access, cachedSecret{secret: e.Secret, p: p})
	return e.Secret, p, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// seal encrypts a secret with AES-256-GCM; the access key is the
// associated data, so a sealed secret copied to another credential does
// not open.
func (s *Service) seal(access, secret string) ([]byte, error) {
	aead, err := s.aead()
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return aead.Seal(nonce, nonce, []byte(secret), []byte(access)), nil
}

func (s *Service) open(c *identity.EC2Credential) (*EC2, error) {
	aead, err := s.aead()
	if err != nil {
		return nil, err
	}
	if len(c.SealedSecret) < aead.NonceSize() {
		return nil, errors.New("credential: sealed secret is too short")
	}
	n := aead.NonceSize()
	secret, err := aead.Open(nil, c.SealedSecret[:n], c.SealedSecret[n:], []byte(c.Access))
	if err != nil {
		return nil, errors.New("credential: sealed secret does not open with this credential key")
	}
	return &EC2{Access: c.Access, Secret: string(secret), UserID: c.UserID, ProjectID: c.ProjectID}, nil
}

func (s *Service) aead() (cipher.AEAD, error) {
	block, err := aes.NewCipher(s.credKey)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}
