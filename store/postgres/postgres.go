package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Options tunes a Store. The zero value is ready to use.
type Options struct {
	// MaxConns caps the connection pool; 0 keeps pgxpool's default (the
	// DSN's pool_max_conns, else max(4, number of CPUs)).
	MaxConns int32
}

// Store is a keypair.Store and an identity.Store on one PostgreSQL
// database, through a pgx connection pool. It is safe for concurrent use,
// and any number of Stores (in this process or others) may share the
// database.
type Store struct {
	pool *pgxpool.Pool
}

// Advisory lock classes: the first key of the two-key
// pg_advisory_xact_lock(int, int), so the store's locks never collide with
// each other's or with single-key locks other programs take.
const (
	lockMigrate  = 0x6b68_0001 // whole schema, while migrating
	lockAudit    = 0x6b68_0002 // the audit chain, while appending
	lockUser     = 0x6b68_0003 // one owner's key pairs, while creating
	lockDomainNm = 0x6b68_0004 // one name in one domain, while creating
)

// Open connects to the database dsn names (a libpq keyword/value string
// or a postgres:// URL; pgx's pool_* parameters are honoured), applies any
// pending migrations and returns a Store over it. Errors never carry the
// DSN's password.
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	s := &Store{pool: pool}
	if err := s.Migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the pool's connections, waiting for those in use to be
// returned. It is safe to call more than once.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// Pool returns the store's connection pool, for health checks and tests.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// rowScanner is what pgx.Row and pgx.Rows have in common.
type rowScanner interface {
	Scan(dest ...any) error
}

// SQLSTATE codes the store maps to domain errors.
const (
	codeUniqueViolation     = "23505"
	codeForeignKeyViolation = "23503"
)

// unstorable reports whether a text argument holds NUL or is not valid
// UTF-8, which PostgreSQL's text type cannot store: a lookup by it matches
// nothing (the server would refuse the query instead, 22021), so callers
// answer "not found" without asking.
func unstorable(args ...any) bool {
	for _, a := range args {
		if s, ok := a.(string); ok && (strings.IndexByte(s, 0) >= 0 || !utf8.ValidString(s)) {
			return true
		}
	}
	return false
}

// pgError returns the server error in err's chain, or nil (a connection
// failure, a cancelled context, ...).
func pgError(err error) *pgconn.PgError {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe
	}
	return nil
}

// isCode reports whether err is a server error with SQLSTATE code.
func isCode(err error, code string) bool {
	pe := pgError(err)
	return pe != nil && pe.Code == code
}

// txError is a failure to begin or commit a transaction.
type txError struct {
	step string // "begin" or "commit"
	err  error
}

// Error returns the step and the cause.
func (e *txError) Error() string { return e.step + ": " + e.err.Error() }

// Unwrap returns the cause.
func (e *txError) Unwrap() error { return e.err }

// inTx runs fn in a READ COMMITTED transaction and commits it when fn
// returns nil; otherwise it rolls back and returns fn's error unchanged.
// A failure to begin or commit is a *txError.
func (s *Store) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		return &txError{"begin", err}
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return &txError{"commit", err}
	}
	return nil
}
