package identity

import (
	"context"
	"time"
)

// SignatureLedger remembers the signatures of accepted signed requests
// until their signing window closes, so that every instance sharing a
// database refuses a request another one already accepted (a replay).
// Every store engine implements it and passes the contract suite in
// store/storetest (RunSignatureLedger).
type SignatureLedger interface {
	// RecordSignature records sig until expiresAt and reports true, unless
	// sig is recorded already with an expiry not before now: then it
	// changes nothing and reports false. The check and the record are one
	// atomic step, so of two concurrent calls for one sig exactly one
	// reports true.
	RecordSignature(ctx context.Context, sig string, expiresAt, now time.Time) (bool, error)
	// PruneSignatures forgets the signatures that expired before now.
	PruneSignatures(ctx context.Context, now time.Time) error
}
