package keypair

import (
	"errors"
	"fmt"
	"time"
)

// Type says what kind of public material a key pair holds.
type Type string

// The key pair types Nova knows; KPS key pairs are always TypeSSH.
const (
	TypeSSH  Type = "ssh"
	TypeX509 Type = "x509"
)

// Scope says who sees a key pair: its owner only, or every user of the
// owner's domain (KPS's shared key pairs).
type Scope string

// The scopes.
const (
	ScopeUser   Scope = "user"
	ScopeDomain Scope = "domain"
)

// KeyPair is one stored key pair. Its public key is kept exactly as the
// client sent it, because Nova returns imported keys byte for byte.
type KeyPair struct {
	// ID is the store's numeric identity, shown by Nova's show and KPS's
	// detail; the store assigns it.
	ID int64
	// UID is a random immutable identity the domain assigns before the
	// insert; escrow binds sealed private keys to it.
	UID string
	// UserID owns the key pair.
	UserID string
	// ProjectID is the project the owner was acting in at creation.
	ProjectID string
	// DomainID is the owner's domain; domain-scope key pairs are shared
	// within it. Empty for owners whose domain is unknown (static tokens).
	DomainID string
	// Name is the owner-chosen name. For any user a name resolves to at
	// most one key pair: their own, or one shared with their domain.
	Name string
	// Type is ssh or x509.
	Type Type
	// Scope is user or domain.
	Scope Scope
	// PublicKey is the OpenSSH public key line or PEM certificate, as given.
	PublicKey string
	// Fingerprint is Nova's colon-hex MD5 (ssh) or SHA-1 (x509) fingerprint.
	Fingerprint string
	// Algorithm names the key as KPS does: rsa-2048, ed25519, ecdsa-256…
	Algorithm string
	// Description is KPS's free text.
	Description string
	// CreatedAt and UpdatedAt are when the store wrote the row, in UTC.
	CreatedAt, UpdatedAt time.Time
	// Escrow is the private key sealed in escrow, nil when there is none.
	Escrow *Escrowed
	// Details are what only keyhaven's own API shows (tags, expiry, the
	// previous key material); Get and List of the other dialects leave
	// them empty, LifecycleStore fills them.
	Details Details
}

// Listed is what a list shows of one key pair: what every dialect's list
// view needs, and no more, since reading a page of whole key pairs (the
// escrowed private key, the timestamps, the description) costs a store
// several times more than these few fields.
type Listed struct {
	// ID is the store's id of the key pair.
	ID int64
	// Name, Type, Scope, PublicKey and Fingerprint are the key pair's.
	Name        string
	Type        Type
	Scope       Scope
	PublicKey   string
	Fingerprint string
	// Protected says a private key is kept in escrow.
	Protected bool
}

// ListedOf returns what a list shows of kp.
func ListedOf(kp *KeyPair) Listed {
	return Listed{ID: kp.ID, Name: kp.Name, Type: kp.Type, Scope: kp.Scope, PublicKey: kp.PublicKey,
		Fingerprint: kp.Fingerprint, Protected: kp.Escrow != nil}
}

// Escrowed is a private key in escrow, as the store keeps it: opaque to
// everything but the escrow implementation.
type Escrowed struct {
	// KeyRef names the KMS key that wrapped the data key
	// ("backend/key-name"); KPS shows it as key_id, rewrap selects by it.
	KeyRef string
	// Blob is the sealed envelope (wrapped data key, nonce, ciphertext).
	Blob []byte
}

// Viewer is whose key pairs a lookup may see: the user's own, and those
// shared with the user's domain.
type Viewer struct {
	UserID, DomainID string
}

// Actor is the authenticated caller as the domain sees it: identity
// backends produce it, the domain decides with it.
type Actor struct {
	// UserID is the calling user.
	UserID string
	// ProjectID is the project the caller's token is scoped to.
	ProjectID string
	// DomainID is the caller's domain, when the identity backend knows it.
	DomainID string
	// Roles are the caller's roles on that project.
	Roles []string
	// RemoteAddr and RequestID identify the request in the audit log.
	RemoteAddr, RequestID string
}

// Page selects a slice of a user's key pairs ordered by name.
type Page struct {
	// Marker, when not empty, is the name of the last key pair of the
	// previous page; it must exist.
	Marker string
	// Limit caps the number of key pairs returned; 0 or less means no cap.
	Limit int
}

// Check refuses an escrowed key without bytes, which a store could not
// tell from no escrow at all. A nil *Escrowed (no escrow) is fine.
func (e *Escrowed) Check() error {
	if e != nil && len(e.Blob) == 0 {
		return errors.New("empty escrow blob")
	}
	return nil
}

// CheckStorable refuses a key pair no store may write: every engine calls
// it before an insert, so they refuse alike and more clearly than their
// schemas would.
func (kp *KeyPair) CheckStorable() error {
	switch {
	case kp == nil:
		return errors.New("nil key pair")
	case kp.UID == "":
		return errors.New("empty uid")
	case kp.Scope != ScopeUser && kp.Scope != ScopeDomain:
		return fmt.Errorf("scope %q is neither user nor domain", kp.Scope)
	case kp.Scope == ScopeDomain && kp.DomainID == "":
		return Errorf(EINVALID, "a domain-scope key pair needs the owner's domain")
	}
	return kp.Escrow.Check()
}
