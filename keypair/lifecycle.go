package keypair

// What keyhaven's own API adds to a key pair and neither Nova nor KPS can
// carry: tags, an expiry, and the key material a rotation replaced.

import (
	"context"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Tag limits, AWS's: at most MaxTags tags, keys of at most MaxTagKey
// characters, values of at most MaxTagValue.
const (
	MaxTags     = 50
	MaxTagKey   = 128
	MaxTagValue = 256
)

// Tag is one key=value label of a key pair; keys are unique per key pair.
type Tag struct {
	Key, Value string
}

// Previous is the key material a rotation replaced, kept for a grace period
// so that a rollback can find it.
type Previous struct {
	// PublicKey is the replaced OpenSSH public key line.
	PublicKey string
	// Fingerprint is its Nova (MD5) fingerprint, Algorithm its KPS name.
	Fingerprint, Algorithm string
	// RotatedAt is when the rotation happened, UTC.
	RotatedAt time.Time
}

// Details is the native-only part of a key pair, kept beside its row.
type Details struct {
	// Tags, sorted by key.
	Tags []Tag
	// ExpiresAt, when not nil, is when the service deletes the key pair.
	ExpiresAt *time.Time
	// Previous is the material of the last rotation, nil when there is
	// none (or its grace period ended).
	Previous *Previous
}

// Filter narrows a native list; empty fields match everything. All given
// conditions must hold.
type Filter struct {
	// NamePrefix matches names that start with it, byte for byte.
	NamePrefix string
	// Algorithm matches the KPS algorithm name (rsa-2048, ed25519, ecdsa-256…).
	Algorithm string
	// Fingerprint matches the Nova (MD5) fingerprint.
	Fingerprint string
	// TagKeys must each be present.
	TagKeys []string
	// Tags must each be present with that value.
	Tags []Tag
}

// Position is a place in a list ordered by name then ID: the last key
// pair of the previous page. The zero Position is before the first.
type Position struct {
	Name string
	ID   int64
}

// DetailsUpdate changes a key pair's description, tags or expiry; nil
// fields stay as they are.
type DetailsUpdate struct {
	// Description, when not nil, replaces the description.
	Description *string
	// Tags, when not nil, replace every tag (an empty slice removes all).
	Tags *[]Tag
	// Expiry, when not nil, sets the expiry: a nil *time.Time removes it.
	Expiry **time.Time
}

// Rotation is new key material for an existing key pair, as the store
// swaps it in.
type Rotation struct {
	// PublicKey, Fingerprint and Algorithm are the new material.
	PublicKey, Fingerprint, Algorithm string
	// Escrowed says whether the key pair held a private key in escrow
	// when the rotation was prepared; the store refuses (ECONFLICT) if
	// that changed meanwhile, so a concurrent clear or import is not lost.
	Escrowed bool
	// Escrow is the new sealed private key: set whenever the key pair
	// keeps (or, with this rotation, starts keeping) one in escrow; nil
	// leaves a key pair without escrow.
	Escrow *Escrowed
	// At is when the rotation happens, UTC.
	At time.Time
}

// AuditFilter selects audit entries; empty fields match everything.
type AuditFilter struct {
	// UserID is who acted; Action what they did; KeyPairName to which.
	UserID, KeyPairName string
	Action              AuditAction
	// Since and Until bound the entry's time (Since inclusive, Until
	// exclusive); zero means unbounded.
	Since, Until time.Time
	// AfterSeq starts after that entry; Limit caps the count (> 0).
	AfterSeq int64
	Limit    int
}

// LifecycleStore is the part of Store keyhaven's own API needs: details
// beside the key pair rows, filtered keyset pages, atomic rotation, and
// the deletion of expired key pairs. CreateKeyPair writes kp.Details in
// its own transaction, and DeleteKeyPair removes them with the row.
type LifecycleStore interface {
	// ListDetailed returns, ordered by name then ID, up to limit (> 0) key
	// pairs that v sees (every owner's when v is nil), that come after
	// after in that order, match f and have not expired at now, with
	// their Details loaded.
	ListDetailed(ctx context.Context, v *Viewer, f Filter, after Position, limit int, now time.Time) ([]*KeyPair, error)
	// LoadDetails fills the Details of each of kps from the store.
	LoadDetails(ctx context.Context, kps []*KeyPair) error
	// UpdateDetails applies u to the key pair with id and sets its
	// UpdatedAt to now, in one transaction; ENOTFOUND when it is gone.
	UpdateDetails(ctx context.Context, id int64, u DetailsUpdate, now time.Time) error
	// RotateKeyPair swaps r in as the material of the key pair with id
	// and keeps the material it replaces as Previous, in one transaction
	// that also appends audit (when not nil); it returns what it
	// replaced. ENOTFOUND when the key pair is gone, ECONFLICT when its
	// escrow changed since r was prepared. Concurrent rotations run one
	// after the other, each replacing what the one before it left.
	RotateKeyPair(ctx context.Context, id int64, r Rotation, audit *AuditEntry) (*Previous, error)
	// DeleteExpired deletes up to limit key pairs whose expiry is at or
	// before now and returns them; for each it appends audit(kp) in the
	// same transaction. Several instances on one database never delete,
	// or audit, a key pair twice.
	DeleteExpired(ctx context.Context, now time.Time, limit int, audit func(*KeyPair) *AuditEntry) ([]*KeyPair, error)
	// ForgetPrevious drops the Previous material of rotations before cutoff.
	ForgetPrevious(ctx context.Context, cutoff time.Time) error
	// SearchAudit returns the entries f selects, in seq order.
	SearchAudit(ctx context.Context, f AuditFilter) ([]*AuditEntry, error)
}

// ValidateTags checks tags against the limits and syntax rules and returns
// them sorted by key: keys of 1 to MaxTagKey characters of letters,
// digits, spaces and _ . : / + - @ (no "=", which separates key from value
// in filters), not starting or ending with a space, unique; values of at
// most MaxTagValue printable characters.
func ValidateTags(tags []Tag) ([]Tag, error) {
	if len(tags) > MaxTags {
		return nil, Errorf(EINVALID, "A key pair has at most %d tags, not %d.", MaxTags, len(tags))
	}
	out := make([]Tag, len(tags))
	copy(out, tags)
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	for i, t := range out {
		if err := ValidateTagKey(t.Key); err != nil {
			return nil, err
		}
		if !utf8.ValidString(t.Value) || utf8.RuneCountInString(t.Value) > MaxTagValue {
			return nil, Errorf(EINVALID, "The value of tag %q must be at most %d characters of UTF-8.", t.Key, MaxTagValue)
		}
		for _, r := range t.Value {
			if !unicode.IsPrint(r) {
				return nil, Errorf(EINVALID, "The value of tag %q holds a control character.", t.Key)
			}
		}
		if i > 0 && out[i-1].Key == t.Key {
			return nil, Errorf(EINVALID, "The tag key %q is given twice.", t.Key)
		}
	}
	return out, nil
}

// ValidateTagKey checks one tag key (see ValidateTags).
func ValidateTagKey(k string) error {
	if k == "" || !utf8.ValidString(k) || utf8.RuneCountInString(k) > MaxTagKey {
		return Errorf(EINVALID, "A tag key must be 1 to %d characters.", MaxTagKey)
	}
	if strings.TrimSpace(k) != k {
		return Errorf(EINVALID, "The tag key %q starts or ends with a space.", k)
	}
	for _, r := range k {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !strings.ContainsRune(" _.:/+-@", r) {
			return Errorf(EINVALID, "The tag key %q holds %q; keys are letters, digits, spaces and _ . : / + - @.", k, r)
		}
	}
	return nil
}

// ParseTag parses a "key=value" filter or label; the value may be empty.
func ParseTag(s string) (Tag, error) {
	k, v, ok := strings.Cut(s, "=")
	if !ok {
		return Tag{}, Errorf(EINVALID, "The tag %q is not of the form key=value.", s)
	}
	t := Tag{Key: k, Value: v}
	if _, err := ValidateTags([]Tag{t}); err != nil {
		return Tag{}, err
	}
	return t, nil
}

// CheckExpiry refuses an expiry that is not after now.
func CheckExpiry(at time.Time, now time.Time) error {
	if !at.After(now) {
		return Errorf(EINVALID, "The expiry %s is not in the future.", at.UTC().Format(time.RFC3339))
	}
	return nil
}
