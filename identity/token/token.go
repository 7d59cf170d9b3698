package token

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"sync"
	"time"
)

// version is the first byte of every token, so the format can change.
const version = 1

// DefaultLifetime is how long a token lives unless configured otherwise.
const DefaultLifetime = time.Hour

// MaxLength bounds the tokens Open considers; real ones are far shorter.
const MaxLength = 4096

// Payload is what a token says about its bearer.
type Payload struct {
	UserID    string `json:"u"`
	DomainID  string `json:"d,omitempty"`
	ProjectID string `json:"p,omitempty"`
	// ProjectDomainID is the domain of the project, so that disabling it
	// ends the token even when the user lives in another domain.
	ProjectDomainID string    `json:"pd,omitempty"`
	Roles           []string  `json:"r,omitempty"`
	Methods         []string  `json:"m"`
	IssuedAt        time.Time `json:"i"`
	ExpiresAt       time.Time `json:"e"`
	// AuditID identifies the token without revealing it; revocation and
	// logs use it.
	AuditID string `json:"a"`
}

// Errors Open returns; both mean "not a valid token" to callers.
var (
	ErrInvalid = errors.New("token: not valid")
	ErrExpired = errors.New("token: expired")
	ErrRevoked = errors.New("token: revoked")
)

// Issuer seals and opens tokens and knows which are revoked.
type Issuer struct {
	ring *Keyring

	mu      sync.RWMutex
	revoked map[string]time.Time
}

// NewIssuer returns an Issuer over a key ring.
func NewIssuer(ring *Keyring) *Issuer {
	return &Issuer{ring: ring, revoked: map[string]time.Time{}}
}

// NewAuditID returns a fresh random audit id.
func NewAuditID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// header is version (1 byte) and key id (4 bytes); it is the AEAD's
// associated data, so neither can be altered.
const headerLen = 5

// Seal returns the token for p.
func (i *Issuer) Seal(p Payload) (string, error) {
	id, key := i.ring.primaryKey()
	plain, err := json.Marshal(p)
	if err != nil {
		return "", err
	}
	aead, err := newAEAD(key)
	if err != nil {
		return "", err
	}
	out := make([]byte, headerLen, headerLen+aead.NonceSize()+len(plain)+aead.Overhead())
	out[0] = version
	binary.BigEndian.PutUint32(out[1:], id)
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	out = append(out, nonce...)
	out = aead.Seal(out, nonce, plain, out[:headerLen])
	return base64.RawURLEncoding.EncodeToString(out), nil
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// Open checks a token and returns its payload: ErrInvalid when it was not
// sealed by this ring (or was altered), ErrExpired past its expiry,
// ErrRevoked when revoked.
func (i *Issuer) Open(tok string, now time.Time) (*Payload, error) {
	if len(tok) > MaxLength {
		return nil, ErrInvalid
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(tok)
	if err != nil || len(raw) < headerLen || raw[0] != version {
		return nil, ErrInvalid
	}
	key, ok := i.ring.key(binary.BigEndian.Uint32(raw[1:headerLen]))
	if !ok {
		return nil, ErrInvalid
	}
	aead, err := newAEAD(key)
	if err != nil {
		return nil, ErrInvalid
	}
	rest := raw[headerLen:]
	if len(rest) < aead.NonceSize()+aead.Overhead() {
		return nil, ErrInvalid
	}
	plain, err := aead.Open(nil, rest[:aead.NonceSize()], rest[aead.NonceSize():], raw[:headerLen])
	if err != nil {
		return nil, ErrInvalid
	}
	var p Payload
	if err := json.Unmarshal(plain, &p); err != nil || p.UserID == "" || p.AuditID == "" {
		return nil, ErrInvalid
	}
	if !now.Before(p.ExpiresAt) {
		return nil, ErrExpired
	}
	if i.IsRevoked(p.AuditID) {
		return nil, ErrRevoked
	}
	return &p, nil
}

// Revoke marks the token with auditID revoked until expiresAt.
func (i *Issuer) Revoke(auditID string, expiresAt time.Time) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.revoked[auditID] = expiresAt
}

// IsRevoked reports whether auditID was revoked.
func (i *Issuer) IsRevoked(auditID string) bool {
	i.mu.RLock()
	defer i.mu.RUnlock()
	_, ok := i.revoked[auditID]
	return ok
}

// SetRevocations replaces the revocation set (after a reload from the
// store) and drops entries that expired before now.
func (i *Issuer) SetRevocations(revoked map[string]time.Time, now time.Time) {
	fresh := make(map[string]time.Time, len(revoked))
	for a, e := range revoked {
		if now.Before(e) {
			fresh[a] = e
		}
	}
	i.mu.Lock()
	i.revoked = fresh
	i.mu.Unlock()
}
