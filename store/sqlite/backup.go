package sqlite

import (
	"context"
	"database/sql"
	"fmt"
)

// SnapshotTo writes a consistent copy of the database to path (which must
// not exist) with VACUUM INTO: one read transaction, so writers carry on
// and the copy is the database as of one moment, never a torn file copy.
//
// It runs on a connection of its own: the readers are query_only, which
// refuses VACUUM INTO, and the writer must stay free for writes.
func (s *Store) SnapshotTo(ctx context.Context, path string) error {
	db, err := sql.Open(driverName, dsn(s.path, Options{BusyTimeout: DefaultBusyTimeout}, false))
	if err != nil {
		return fmt.Errorf("sqlite: snapshot: %w", err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, path); err != nil {
		return fmt.Errorf("sqlite: snapshot: %w", err)
	}
	return nil
}

// Inventory is what a backup's manifest records of the database.
type Inventory struct {
	SchemaVersion                               int
	KeyPairs, EscrowedKeys, AuditEntries, Users int64
	EscrowRefs                                  []string // distinct, sorted
	// Servers counts the server inventory; Tasks the association tasks.
	Servers, Tasks int64
}

// Inventory counts the rows a backup carries and lists the KMS key refs
// the escrowed private keys need, in one read transaction.
func (s *Store) Inventory(ctx context.Context) (Inventory, error) {
	var inv Inventory
	tx, err := s.r.BeginTx(ctx, nil)
	if err != nil {
		return inv, fmt.Errorf("sqlite: inventory: %w", err)
	}
	defer tx.Rollback()
	err = tx.QueryRowContext(ctx, `SELECT
		(SELECT coalesce(max(version), 0) FROM schema_migrations),
		(SELECT count(*) FROM key_pairs),
		(SELECT count(*) FROM key_pairs WHERE escrow_ref IS NOT NULL),
		(SELECT count(*) FROM audit_log),
		(SELECT count(*) FROM users),
		(SELECT count(*) FROM servers),
		(SELECT count(*) FROM tasks)`).Scan(&inv.SchemaVersion, &inv.KeyPairs, &inv.EscrowedKeys, &inv.AuditEntries, &inv.Users,
		&inv.Servers, &inv.Tasks)
	if err != nil {
		return inv, fmt.Errorf("sqlite: inventory: %w", err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT DISTINCT escrow_ref FROM key_pairs WHERE escrow_ref IS NOT NULL ORDER BY escrow_ref`)
	if err != nil {
		return inv, fmt.Errorf("sqlite: inventory: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var ref string
		if err := rows.Scan(&ref); err != nil {
			return inv, fmt.Errorf("sqlite: inventory: %w", err)
		}
		inv.EscrowRefs = append(inv.EscrowRefs, ref)
	}
	return inv, rows.Err()
}

// KnownSchemaVersion is the newest schema version this build can open.
func KnownSchemaVersion() (int, error) {
	ms, err := migrations()
	if err != nil || len(ms) == 0 {
		return 0, err
	}
	return ms[len(ms)-1].Version, nil
}
