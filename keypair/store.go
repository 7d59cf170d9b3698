package keypair

import (
	"context"
	"time"
)

// Store persists key pairs and the audit log. Every engine (store/sqlite,
// store/postgres) implements it and passes the shared contract suite in
// store/storetest.
//
// Methods return *Error values for the outcomes callers branch on
// (ENOTFOUND, ECONFLICT, EQUOTA, EINVALID for an unknown marker); anything
// else is an internal error.
//
// The write methods that change an escrowed private key take the audit
// entry recording the change (nil: none) and append it in the change's own
// transaction, as AppendAudit would: both commit or neither does, so a
// crash can neither lose the entry of a change nor log a change that did
// not happen. On success they set the entry's Seq, PrevHash and Hash.
type Store interface {
	// CreateKeyPair inserts kp (with its Escrow, if any, in the same
	// transaction), failing with EQUOTA when its owner already has quota
	// or more key pairs and ECONFLICT when the name would resolve to two
	// key pairs for some user: a user-scope name may not equal another of
	// the owner's or one shared with the owner's domain; a domain-scope
	// name may not equal any key pair name in that domain. Count, checks
	// and insert happen in one transaction, so concurrent creates cannot
	// overshoot or collide. It sets kp.ID, kp.CreatedAt and kp.UpdatedAt.
	// audit, when not nil, is appended in the same transaction with its
	// KeyPairID set to kp.ID.
	CreateKeyPair(ctx context.Context, kp *KeyPair, quota int, audit *AuditEntry) error
	// GetKeyPair returns the key pair called name that v sees (its own,
	// or one shared with its domain), or ENOTFOUND.
	GetKeyPair(ctx context.Context, v Viewer, name string) (*KeyPair, error)
	// ListKeyPairs returns what a list shows of the key pairs v sees,
	// ordered by name, after page.Marker (EINVALID MarkerNotFound if v
	// sees none of that name) and at most page.Limit of them when
	// Limit > 0.
	ListKeyPairs(ctx context.Context, v Viewer, page Page) ([]Listed, error)
	// CountKeyPairs returns how many key pairs the user owns.
	CountKeyPairs(ctx context.Context, userID string) (int, error)
	// DeleteKeyPair removes the key pair with id, or ENOTFOUND. audit,
	// when not nil, is appended in the same transaction if the key pair
	// held a private key in escrow (whose sealed copy the delete
	// destroys), and left alone otherwise (its Seq stays 0).
	DeleteKeyPair(ctx context.Context, id int64, audit *AuditEntry) error
	// UpdateDescription sets the description of the key pair with id and
	// its UpdatedAt to now, or ENOTFOUND.
	UpdateDescription(ctx context.Context, id int64, description string, now time.Time) error
	// SwapEscrow replaces the escrowed private key of the key pair with id
	// by next (nil clears it) if it is still old (nil: none), comparing
	// blobs; ECONFLICT when it changed meanwhile, ENOTFOUND when the key
	// pair is gone. Clearing destroys the sealed copy. audit, when not
	// nil, is appended in the same transaction when the swap happens.
	SwapEscrow(ctx context.Context, id int64, old, next *Escrowed, now time.Time, audit *AuditEntry) error
	// ListEscrowed returns up to limit key pairs with a private key in
	// escrow and an ID above afterID, in ID order, for re-wrapping.
	ListEscrowed(ctx context.Context, afterID int64, limit int) ([]*KeyPair, error)

	// AppendAudit adds e to the audit log: in one transaction it sets
	// e.Seq to the next number, e.PrevHash to the last entry's hash and
	// e.Hash to e.ComputeHash(e.PrevHash). It is for entries that record
	// no change of the store (a reveal: export writes its entry before
	// the key leaves the service).
	AppendAudit(ctx context.Context, e *AuditEntry) error
	// ListAudit returns up to limit entries after seq, in order.
	ListAudit(ctx context.Context, afterSeq int64, limit int) ([]*AuditEntry, error)

	// Close releases the store's resources.
	Close() error

	// LifecycleStore serves keyhaven's own API (tags, expiry, rotation).
	LifecycleStore
}
