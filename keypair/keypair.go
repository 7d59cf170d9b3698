package keypair

import "time"

// Type says what kind of public material a key pair holds.
type Type string

// The key pair types Nova knows; KPS key pairs are always TypeSSH.
const (
	TypeSSH  Type = "ssh"
	TypeX509 Type = "x509"
)

// KeyPair is one stored key pair. Its public key is kept exactly as the
// client sent it, because Nova returns imported keys byte for byte.
type KeyPair struct {
	// ID is the store's immutable numeric identity, shown by Nova's show.
	ID int64
	// UserID owns the key pair: names are unique per user.
	UserID string
	// ProjectID is the project the owner was acting in at creation.
	ProjectID string
	// Name is the owner-chosen name.
	Name string
	// Type is ssh or x509.
	Type Type
	// PublicKey is the OpenSSH public key line or PEM certificate, as given.
	PublicKey string
	// Fingerprint is Nova's colon-hex MD5 (ssh) or SHA-1 (x509) fingerprint.
	Fingerprint string
	// CreatedAt is when the store wrote the row, in UTC.
	CreatedAt time.Time
}

// Actor is the authenticated caller as the domain sees it: identity
// backends produce it, the domain decides with it.
type Actor struct {
	// UserID is the calling user.
	UserID string
	// ProjectID is the project the caller's token is scoped to.
	ProjectID string
	// Roles are the caller's roles on that project.
	Roles []string
}

// Page selects a slice of a user's key pairs ordered by name.
type Page struct {
	// Marker, when not empty, is the name of the last key pair of the
	// previous page; it must exist.
	Marker string
	// Limit caps the number of key pairs returned; 0 or less means no cap.
	Limit int
}
