package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/keyhaven/keyhaven/keypair"
)

// Inventory is what a backup's manifest records of the database.
type Inventory struct {
	SchemaVersion                               int
	KeyPairs, EscrowedKeys, AuditEntries, Users int64
	EscrowRefs                                  []string // distinct, sorted
	// Servers counts the server inventory; Tasks the association tasks.
	Servers, Tasks int64
	// Samples holds one escrowed row per ref, so a restore can check
	// that its key files open what the database sealed.
	Samples map[string]keypair.Escrowed
	// SampleUIDs are the samples' key pair uids, which the seal binds.
	SampleUIDs map[string]string
}

// Inventory counts the rows a backup's manifest records and lists the
// KMS key refs the escrowed private keys need, in one snapshot.
func (s *Store) Inventory(ctx context.Context) (Inventory, error) {
	var inv Inventory
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return inv, fmt.Errorf("postgres: inventory: %w", err)
	}
	defer tx.Rollback(ctx)
	err = tx.QueryRow(ctx, `SELECT
		(SELECT coalesce(max(version), 0) FROM schema_migrations),
		(SELECT count(*) FROM key_pairs),
		(SELECT count(*) FROM key_pairs WHERE escrow_ref IS NOT NULL),
		(SELECT count(*) FROM audit_log),
		(SELECT count(*) FROM users),
		(SELECT count(*) FROM servers),
		(SELECT count(*) FROM tasks)`).Scan(&inv.SchemaVersion, &inv.KeyPairs, &inv.EscrowedKeys, &inv.AuditEntries, &inv.Users,
		&inv.Servers, &inv.Tasks)
	if err != nil {
		return inv, fmt.Errorf("postgres: inventory: %w", err)
	}
	rows, err := tx.Query(ctx, `SELECT DISTINCT escrow_ref FROM key_pairs WHERE escrow_ref IS NOT NULL ORDER BY escrow_ref`)
	if err != nil {
		return inv, fmt.Errorf("postgres: inventory: %w", err)
	}
	inv.EscrowRefs, err = pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return inv, fmt.Errorf("postgres: inventory: %w", err)
	}
	inv.Samples, inv.SampleUIDs = map[string]keypair.Escrowed{}, map[string]string{}
	for _, ref := range inv.EscrowRefs {
		var uid string
		var blob []byte
		err := tx.QueryRow(ctx, `SELECT uid, escrow_blob FROM key_pairs WHERE escrow_ref = $1 LIMIT 1`, ref).Scan(&uid, &blob)
		if err != nil {
			return inv, fmt.Errorf("postgres: inventory: %w", err)
		}
		inv.Samples[ref], inv.SampleUIDs[ref] = keypair.Escrowed{KeyRef: ref, Blob: blob}, uid
	}
	return inv, nil
}

// KnownSchemaVersion is the newest schema version this build knows.
func KnownSchemaVersion() (int, error) {
	ms, err := migrations()
	if err != nil || len(ms) == 0 {
		return 0, err
	}
	return ms[len(ms)-1].Version, nil
}
