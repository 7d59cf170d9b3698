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
type Store interface {
	// CreateKeyPair inserts kp (with its Escrow, if any, in the same
	// transaction), failing with EQUOTA when its owner already has quota
	// or more key pairs and ECONFLICT when the name would resolve to two
	// key pairs for some user: a user-scope name may not equal another of
	// the owner's or one shared with the owner's domain; a domain-scope
	// name may not equal any key pair name in that domain. Count, checks
	// and insert happen in one transaction, so concurrent creates cannot
	// overshoot or collide. It sets kp.ID, kp.CreatedAt and kp.UpdatedAt.
	CreateKeyPair(ctx context.Context, kp *KeyPair, quota int) error
	// GetKeyPair returns the key pair called name that v sees (its own,
	// or one shared with its domain), or ENOTFOUND.
	GetKeyPair(ctx context.Context, v Viewer, name string) (*KeyPair, error)
	// ListKeyPairs returns the key pairs v sees ordered by name, after
	// page.Marker (EINVALID MarkerNotFound if v sees none of that name)
	// and at most page.Limit of them when Limit > 0.
	ListKeyPairs(ctx context.Context, v Viewer, page Page) ([]*KeyPair, error)
	// CountKeyPairs returns how many key pairs the user owns.
	CountKeyPairs(ctx context.Context, userID string) (int, error)
	// DeleteKeyPair removes the key pair with id, or ENOTFOUND.
	DeleteKeyPair(ctx context.Context, id int64) error
	// UpdateDescription sets the description of the key pair with id and
	// its UpdatedAt to now, or ENOTFOUND.
	UpdateDescription(ctx context.Context, id int64, description string, now time.Time) error
	// SwapEscrow replaces the escrowed private key of the key pair with id
	// by next (nil clears it) if it is still old (nil: none), comparing
	// blobs; ECONFLICT when it changed meanwhile, ENOTFOUND when the key
	// pair is gone. Clearing destroys the sealed copy.
	SwapEscrow(ctx context.Context, id int64, old, next *Escrowed, now time.Time) error
	// ListEscrowed returns up to limit key pairs with a private key in
	// escrow and an ID above afterID, in ID order, for re-wrapping.
	ListEscrowed(ctx context.Context, afterID int64, limit int) ([]*KeyPair, error)

	// AppendAudit adds e to the audit log: in one transaction it sets
	// e.Seq to the next number, e.PrevHash to the last entry's hash and
	// e.Hash to e.ComputeHash(e.PrevHash).
	AppendAudit(ctx context.Context, e *AuditEntry) error
	// ListAudit returns up to limit entries after seq, in order.
	ListAudit(ctx context.Context, afterSeq int64, limit int) ([]*AuditEntry, error)

	// Close releases the store's resources.
	Close() error
}
