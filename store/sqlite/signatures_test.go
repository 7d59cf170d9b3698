package sqlite

import (
	"path/filepath"
	"testing"

	"github.com/keyhaven/keyhaven/identity"
	"github.com/keyhaven/keyhaven/store/storetest"
)

// TestSignatureLedgerContract runs the ledger suite on two Stores over one
// file, as two processes on one host would open it.
func TestSignatureLedgerContract(t *testing.T) {
	storetest.RunSignatureLedger(t, func(t *testing.T) (identity.SignatureLedger, identity.SignatureLedger) {
		path := filepath.Join(t.TempDir(), "keyhaven.db")
		a, err := Open(t.Context(), path, Options{})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		b, err := Open(t.Context(), path, Options{})
		if err != nil {
			a.Close()
			t.Fatalf("Open: %v", err)
		}
		return a, b
	})
}
