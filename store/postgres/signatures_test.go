package postgres

import (
	"testing"

	"github.com/keyhaven/keyhaven/identity"
	"github.com/keyhaven/keyhaven/internal/pgtest"
	"github.com/keyhaven/keyhaven/store/storetest"
)

// TestSignatureLedgerContract runs the ledger suite on two Stores over one
// database, as two keyhaven instances have.
func TestSignatureLedgerContract(t *testing.T) {
	storetest.RunSignatureLedger(t, func(t *testing.T) (identity.SignatureLedger, identity.SignatureLedger) {
		dsn := pgtest.NewDatabase(t)
		a, err := Open(t.Context(), dsn, Options{})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		b, err := Open(t.Context(), dsn, Options{})
		if err != nil {
			a.Close()
			t.Fatalf("Open: %v", err)
		}
		return a, b
	})
}
