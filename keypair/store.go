package keypair

import "context"

// Store persists key pairs. Every engine (store/sqlite, store/postgres)
// implements it and passes the shared contract suite in store/storetest.
//
// Methods return *Error values for the outcomes callers branch on
// (ENOTFOUND, ECONFLICT, EQUOTA, EINVALID for an unknown marker); anything
// else is an internal error.
type Store interface {
	// CreateKeyPair inserts kp, failing with EQUOTA when its owner already
	// has quota or more key pairs and ECONFLICT when the owner already has
	// one of that name. The count and the insert happen in one transaction
	// so concurrent creates cannot overshoot. It sets kp.ID and kp.CreatedAt.
	CreateKeyPair(ctx context.Context, kp *KeyPair, quota int) error
	// GetKeyPair returns the owner's key pair called name, or ENOTFOUND.
	GetKeyPair(ctx context.Context, userID, name string) (*KeyPair, error)
	// ListKeyPairs returns the owner's key pairs ordered by name, after
	// page.Marker (EINVALID MarkerNotFound if it names none) and at most
	// page.Limit of them when Limit > 0.
	ListKeyPairs(ctx context.Context, userID string, page Page) ([]*KeyPair, error)
	// CountKeyPairs returns how many key pairs the owner has.
	CountKeyPairs(ctx context.Context, userID string) (int, error)
	// DeleteKeyPair removes the owner's key pair called name, or ENOTFOUND.
	DeleteKeyPair(ctx context.Context, userID, name string) error
	// Close releases the store's resources.
	Close() error
}
