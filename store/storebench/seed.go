package storebench

import (
	"context"
	"database/sql"
	"fmt"
	"os"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// BatchSize is how many rows SeedSQLite inserts per transaction.
const BatchSize = 50_000

// SeedSQLite bulk-loads d into the key_pairs table of the migrated SQLite
// database at path (the store must not be writing meanwhile), in
// transactions of BatchSize rows with one prepared INSERT, then runs
// ANALYZE, checkpoints the WAL into the database file and fsyncs it. The
// loading connection uses synchronous=OFF and a large page cache; the
// final fsync makes the load durable before the measurements start.
func SeedSQLite(ctx context.Context, path string, d *Dataset) error {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=synchronous(OFF)&_pragma=cache_size(-1048576)")
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	// The owner counters' triggers (migration 0007) would upsert once per
	// row: drop them for the load, count once after it, put them back.
	triggers, err := dropTriggers(ctx, conn)
	if err != nil {
		return fmt.Errorf("storebench: seed sqlite: %w", err)
	}
	var tx *sql.Tx
	var stmt *sql.Stmt
	commit := func() error {
		if tx == nil {
			return nil
		}
		stmt.Close()
		err := tx.Commit()
		tx, stmt = nil, nil
		return err
	}
	err = d.Rows(func(k int, r *Row) error {
		if tx == nil {
			var err error
			if tx, err = conn.BeginTx(ctx, nil); err != nil {
				return err
			}
			stmt, err = tx.PrepareContext(ctx, `INSERT INTO key_pairs
				(uid, user_id, project_id, domain_id, name, type, scope, public_key, fingerprint,
				 algorithm, description, created_at, updated_at)
				VALUES (?, ?, ?, ?, ?, 'ssh', ?, ?, ?, ?, '', ?, ?)`)
			if err != nil {
				return err
			}
		}
		if _, err := stmt.ExecContext(ctx, r.UID, r.UserID, r.ProjectID, r.DomainID, r.Name, r.Scope,
			r.PublicKey, r.Fingerprint, r.Algorithm, r.CreatedAt, r.CreatedAt); err != nil {
			return fmt.Errorf("row %d: %w", k, err)
		}
		if (k+1)%BatchSize == 0 {
			return commit()
		}
		return nil
	})
	if err != nil {
		if tx != nil {
			tx.Rollback()
		}
		return fmt.Errorf("storebench: seed sqlite: %w", err)
	}
	if err := commit(); err != nil {
		return fmt.Errorf("storebench: seed sqlite: %w", err)
	}
	after := append([]string{sqliteRecount}, triggers...)
	for _, q := range append(after, "ANALYZE", "PRAGMA wal_checkpoint(TRUNCATE)") {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("storebench: seed sqlite: %.60s: %w", q, err)
		}
	}
	// With synchronous=OFF nothing was flushed: do it now, or the store's
	// first checkpoint would pay for the whole load in one fsync.
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("storebench: seed sqlite: %w", err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("storebench: seed sqlite: fsync: %w", err)
	}
	return nil
}

// sqliteRecount sets every owner's counter from the rows.
const sqliteRecount = `INSERT INTO key_pair_counts (user_id, n)
	SELECT user_id, count(*) FROM key_pairs WHERE true GROUP BY user_id
	ON CONFLICT (user_id) DO UPDATE SET n = excluded.n`

// dropTriggers drops the triggers on key_pairs and returns the statements
// that create them again.
func dropTriggers(ctx context.Context, conn *sql.Conn) ([]string, error) {
	rows, err := conn.QueryContext(ctx, `SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'key_pairs'`)
	if err != nil {
		return nil, err
	}
	var names, create []string
	for rows.Next() {
		var name, q string
		if err := rows.Scan(&name, &q); err != nil {
			rows.Close()
			return nil, err
		}
		names, create = append(names, name), append(create, q)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, name := range names {
		if _, err := conn.ExecContext(ctx, "DROP TRIGGER "+name); err != nil {
			return nil, err
		}
	}
	return create, nil
}

// SeedPostgres bulk-loads d into the key_pairs table of a migrated
// PostgreSQL database with one COPY, then runs VACUUM ANALYZE (what
// autovacuum would do after a bulk load; it also sets the visibility
// map that index-only scans rely on).
func SeedPostgres(ctx context.Context, pool *pgxpool.Pool, d *Dataset) error {
	gen := make(chan []any, 1024)
	errc := make(chan error, 1)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		defer close(gen)
		errc <- d.Rows(func(_ int, r *Row) error {
			select {
			case gen <- []any{r.UID, r.UserID, r.ProjectID, r.DomainID, r.Name, "ssh", r.Scope,
				r.PublicKey, r.Fingerprint, r.Algorithm, "", r.CreatedAt, r.CreatedAt}:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()
	// The owner counters' triggers (migration 0007) would upsert once per
	// row: off for the load, one count after it.
	if _, err := pool.Exec(ctx, "ALTER TABLE key_pairs DISABLE TRIGGER USER"); err != nil {
		return fmt.Errorf("storebench: seed postgres: %w", err)
	}
	src := pgx.CopyFromFunc(func() ([]any, error) {
		next, ok := <-gen
		if !ok {
			return nil, nil
		}
		return next, nil
	})
	n, err := pool.CopyFrom(ctx, pgx.Identifier{"key_pairs"},
		[]string{"uid", "user_id", "project_id", "domain_id", "name", "type", "scope", "public_key",
			"fingerprint", "algorithm", "description", "created_at", "updated_at"}, src)
	if err != nil {
		return fmt.Errorf("storebench: seed postgres: copy: %w", err)
	}
	if err := <-errc; err != nil {
		return fmt.Errorf("storebench: seed postgres: %w", err)
	}
	if int(n) != d.Config.Rows {
		return fmt.Errorf("storebench: seed postgres: copied %d rows, want %d", n, d.Config.Rows)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO key_pair_counts (user_id, n)
		SELECT user_id, count(*) FROM key_pairs GROUP BY user_id
		ON CONFLICT (user_id) DO UPDATE SET n = excluded.n`); err != nil {
		return fmt.Errorf("storebench: seed postgres: count: %w", err)
	}
	if _, err := pool.Exec(ctx, "ALTER TABLE key_pairs ENABLE TRIGGER USER"); err != nil {
		return fmt.Errorf("storebench: seed postgres: %w", err)
	}
	if _, err := pool.Exec(ctx, "VACUUM (ANALYZE) key_pairs, key_pair_counts"); err != nil {
		return fmt.Errorf("storebench: seed postgres: vacuum analyze: %w", err)
	}
	return nil
}
