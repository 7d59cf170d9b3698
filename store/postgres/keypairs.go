package postgres

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/keyhaven/keyhaven/keypair"
)

// Store implements the domain's storage interface.
var _ keypair.Store = (*Store)(nil)

// columns lists key_pairs columns in the order scanKeyPair reads them.
const columns = `id, uid, user_id, project_id, domain_id, name, type, scope, public_key,
	fingerprint, algorithm, description, created_at, updated_at, escrow_ref, escrow_blob`

// scanKeyPair reads one row selected with columns. Escrow is nil when the
// row holds no escrowed private key.
func scanKeyPair(r rowScanner) (*keypair.KeyPair, error) {
	var kp keypair.KeyPair
	var typ, scope string
	var created, updated int64
	var ref *string
	var blob []byte
	if err := r.Scan(&kp.ID, &kp.UID, &kp.UserID, &kp.ProjectID, &kp.DomainID, &kp.Name, &typ, &scope,
		&kp.PublicKey, &kp.Fingerprint, &kp.Algorithm, &kp.Description, &created, &updated,
		&ref, &blob); err != nil {
		return nil, err
	}
	kp.Type = keypair.Type(typ)
	kp.Scope = keypair.Scope(scope)
	kp.CreatedAt = fromMicros(created)
	kp.UpdatedAt = fromMicros(updated)
	if ref != nil {
		kp.Escrow = &keypair.Escrowed{KeyRef: *ref, Blob: blob}
	}
	return &kp, nil
}

// fromMicros turns microseconds since the Unix epoch into a UTC time.
func fromMicros(micros int64) time.Time { return time.UnixMicro(micros).UTC() }

// escrowArgs returns the escrow_ref and escrow_blob values for e: both
// NULL when e is nil.
func escrowArgs(e *keypair.Escrowed) (ref, blob any) {
	if e == nil {
		return nil, nil
	}
	return e.KeyRef, e.Blob
}

// checkNew validates a key pair before an insert: the domain's rules,
// with this engine's name on plain errors.
func checkNew(kp *keypair.KeyPair) error {
	err := kp.CheckStorable()
	if err != nil && keypair.ErrorCode(err) == keypair.EINTERNAL {
		return fmt.Errorf("postgres: create key pair: %w", err)
	}
	return err
}

// CreateKeyPair inserts kp in one READ COMMITTED transaction that first
// takes transaction-level advisory locks, always in this order: one on
// the owner (kp.UserID), then, when kp.DomainID is known, one on
// (kp.DomainID, kp.Name). Any two creates that could collide share a
// lock: the same owner shares the first (which also makes count-then-
// insert safe for the quota), and different owners whose key pairs could
// resolve to the same name for some user are in the same domain with the
// same name, so share the second. The holder's statements run after the
// previous holder committed and, at READ COMMITTED, see its row. The
// fixed order rules out deadlocks.
//
// Under the locks it reads the owner's count (key_pair_counts, which
// triggers keep in step with the rows) and fails with EQUOTA
// when there are quota or more, then fails with ECONFLICT when the name
// would resolve to two key pairs for some user:
//
//   - user scope: the owner has a key pair of that name, or one of that
//     name is shared with the owner's domain (when it is known);
//   - domain scope: the owner has a key pair of that name, or any key pair
//     of the domain (shared, or owned by one of its users) has it.
//
// The unique indexes back this up; should one fire anyway, it is mapped
// to ECONFLICT too. A domain-scope key pair needs kp.DomainID (EINVALID).
// audit, when not nil, is appended last in the same transaction, with
// KeyPairID the new id. On success it sets kp.ID, kp.CreatedAt and
// kp.UpdatedAt (UTC, to the microsecond), and audit's KeyPairID, Seq,
// PrevHash and Hash.
func (s *Store) CreateKeyPair(ctx context.Context, kp *keypair.KeyPair, quota int, audit *keypair.AuditEntry) error {
	if err := checkNew(kp); err != nil {
		return err
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	var id int64
	var entry keypair.AuditEntry
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext($2))`, lockUser, kp.UserID); err != nil {
			return fmt.Errorf("lock owner: %w", err)
		}
		if kp.DomainID != "" {
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext(length($2::text) || ':' || $2 || $3::text))`,
				lockDomainNm, kp.DomainID, kp.Name); err != nil {
				return fmt.Errorf("lock name: %w", err)
			}
		}
		var n int
		if err := tx.QueryRow(ctx, sqlCount, kp.UserID).Scan(&n); err != nil {
			return fmt.Errorf("count: %w", err)
		}
		if n >= quota {
			return keypair.QuotaExceeded()
		}
		// The owner's names; then, in the domain, the shared names (user
		// scope) or all names (domain scope).
		inDomain := `scope = 'domain'`
		if kp.Scope == keypair.ScopeDomain {
			inDomain = `TRUE`
		}
		var taken bool
		err := tx.QueryRow(ctx, `SELECT
			EXISTS (SELECT 1 FROM key_pairs WHERE user_id = $1 AND name = $2) OR
			EXISTS (SELECT 1 FROM key_pairs WHERE $3::text <> '' AND domain_id = $3 AND `+inDomain+` AND name = $2)`,
			kp.UserID, kp.Name, kp.DomainID).Scan(&taken)
		if err != nil {
			return fmt.Errorf("check name: %w", err)
		}
		if taken {
			return keypair.Conflict(kp.Name)
		}
		ref, blob := escrowArgs(kp.Escrow)
		err = tx.QueryRow(ctx, `INSERT INTO key_pairs
			(uid, user_id, project_id, domain_id, name, type, scope, public_key, fingerprint,
			 algorithm, description, created_at, updated_at, escrow_ref, escrow_blob)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
			RETURNING id`,
			kp.UID, kp.UserID, kp.ProjectID, kp.DomainID, kp.Name, string(kp.Type), string(kp.Scope),
			kp.PublicKey, kp.Fingerprint, kp.Algorithm, kp.Description, now.UnixMicro(), now.UnixMicro(),
			ref, blob).Scan(&id)
		if pe := pgError(err); pe != nil && pe.Code == codeUniqueViolation {
			if pe.ConstraintName == "key_pairs_uid" {
				return errors.New("insert: uid already taken")
			}
			return keypair.Conflict(kp.Name)
		}
		if err != nil {
			return fmt.Errorf("insert: %w", err)
		}
		if err := insertDetails(ctx, tx, id, kp.Details); err != nil {
			return err
		}
		if audit != nil {
			e := *audit
			e.KeyPairID = id
			entry, err = appendAudit(ctx, tx, &e)
		}
		return err
	})
	if err != nil {
		return wrapKP("create key pair", err)
	}
	kp.ID = id
	kp.CreatedAt, kp.UpdatedAt = now, now
	if audit != nil {
		committed(audit, entry)
	}
	return nil
}

// wrapKP returns a domain error (*keypair.Error) unchanged and prefixes
// any other error with the package and op.
func wrapKP(op string, err error) error {
	var ke *keypair.Error
	if errors.As(err, &ke) {
		return err
	}
	return fmt.Errorf("postgres: %s: %w", op, err)
}

// visible selects, with $1 the viewer's user and $2 their domain, the key
// pairs the viewer sees that also match cond (on name, with $3): their own,
// then those shared with their domain whose name they do not own. Creates
// keep names from resolving twice; should it happen anyway (a user whose
// recorded domain changed), their own key pair wins, in Get and List alike.
func visible(cond string) string {
	return `SELECT ` + columns + ` FROM key_pairs WHERE user_id = $1 AND ` + cond + `
		UNION ALL
		SELECT ` + columns + ` FROM key_pairs AS k
		WHERE $2::text <> '' AND domain_id = $2 AND scope = 'domain' AND user_id <> $1 AND ` + cond + `
		AND NOT EXISTS (SELECT 1 FROM key_pairs AS o WHERE o.user_id = $1 AND o.name = k.name)`
}

// GetKeyPair returns the key pair called name that v sees: v's own, or one
// shared with v's domain; ENOTFOUND when there is none.
func (s *Store) GetKeyPair(ctx context.Context, v keypair.Viewer, name string) (*keypair.KeyPair, error) {
	if unstorable(v.UserID, v.DomainID, name) {
		return nil, keypair.NotFound(name, v.UserID)
	}
	row := s.pool.QueryRow(ctx, visible(`name = $3`)+` LIMIT 1`, v.UserID, v.DomainID, name)
	kp, err := scanKeyPair(row)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, keypair.NotFound(name, v.UserID)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: get key pair: %w", err)
	}
	return kp, nil
}

// listColumns are what a list shows of a key pair (keypair.Listed): a
// page reads no escrowed private key, timestamps or description.
const listColumns = `id, name, type, scope, public_key, fingerprint, escrow_ref IS NOT NULL AS protected`

// sqlListPage selects a page ($3 the marker or ”, $4 the limit or NULL)
// of what visible selects: each branch ordered by name through its index
// (key_pairs_user_name; key_pairs_domain_shared) and stopped at the limit
// before the two are merged, so a first page reads about two pages of
// rows however many key pairs the user and the domain hold, where one
// ORDER BY over the whole UNION ALL fetched and sorted all of them.
// OFFSET 0 keeps the NOT EXISTS a per-row probe of the index-ordered scan:
// turned into an anti join (its estimate of the join's rows is poor), it
// was planned as a sort of all the domain's shared key pairs again.
var sqlListPage = `SELECT * FROM (
		(SELECT ` + listColumns + ` FROM key_pairs WHERE user_id = $1 AND name >= $3 ORDER BY name LIMIT $4)
		UNION ALL
		(SELECT ` + listColumns + ` FROM key_pairs AS k
		WHERE $2::text <> '' AND domain_id = $2 AND scope = 'domain' AND user_id <> $1 AND name >= $3
		AND NOT EXISTS (SELECT 1 FROM key_pairs AS o WHERE o.user_id = $1 AND o.name = k.name OFFSET 0)
		ORDER BY name LIMIT $4)
	) AS page ORDER BY name LIMIT $4`

// ListKeyPairs returns the key pairs v sees in byte order of name, those
// after page.Marker when it is set (EINVALID when v sees no key pair of
// that name), at most page.Limit of them when Limit > 0.
//
// With a marker it runs one statement, name >= marker, and checks that the
// first row is the marker itself, so the check and the page come from the
// same snapshot.
func (s *Store) ListKeyPairs(ctx context.Context, v keypair.Viewer, page keypair.Page) ([]keypair.Listed, error) {
	if page.Marker != "" && unstorable(page.Marker) {
		return nil, keypair.MarkerNotFound(page.Marker)
	}
	if unstorable(v.UserID, v.DomainID) {
		return []keypair.Listed{}, nil
	}
	var limit *int64 // NULL: no limit
	if page.Limit > 0 {
		l := int64(page.Limit)
		if page.Marker != "" && l < math.MaxInt64 {
			l++ // room for the marker row
		}
		limit = &l
	}
	rows, err := s.pool.Query(ctx, sqlListPage, v.UserID, v.DomainID, page.Marker, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: list key pairs: %w", err)
	}
	defer rows.Close()

	kps := []keypair.Listed{}
	first := true
	for rows.Next() {
		var kp keypair.Listed
		var typ, scope string
		if err := rows.Scan(&kp.ID, &kp.Name, &typ, &scope, &kp.PublicKey, &kp.Fingerprint, &kp.Protected); err != nil {
			return nil, fmt.Errorf("postgres: list key pairs: %w", err)
		}
		kp.Type, kp.Scope = keypair.Type(typ), keypair.Scope(scope)
		if first && page.Marker != "" {
			first = false
			if kp.Name != page.Marker {
				return nil, keypair.MarkerNotFound(page.Marker)
			}
			continue
		}
		kps = append(kps, kp)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: list key pairs: %w", err)
	}
	if first && page.Marker != "" {
		return nil, keypair.MarkerNotFound(page.Marker) // no row >= marker
	}
	return kps, nil
}

// sqlCount reads the owner's count, kept by migration 0007's triggers in
// the transaction of every insert and delete.
const sqlCount = `SELECT coalesce((SELECT n FROM key_pair_counts WHERE user_id = $1), 0)`

// CountKeyPairs returns how many key pairs the user owns, of either scope.
func (s *Store) CountKeyPairs(ctx context.Context, userID string) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, sqlCount, userID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("postgres: count key pairs: %w", err)
	}
	return n, nil
}

// DeleteKeyPair removes the key pair with id, escrowed private key and
// all, or fails with ENOTFOUND. When the key pair held a private key in
// escrow, audit (if not nil) is appended in the same transaction. (The
// deleted row version stays in the table's pages until VACUUM reclaims
// it, and in the WAL: docs/scaling.md.)
func (s *Store) DeleteKeyPair(ctx context.Context, id int64, audit *keypair.AuditEntry) error {
	var escrowed bool
	var entry keypair.AuditEntry
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `DELETE FROM key_pairs WHERE id = $1 RETURNING escrow_blob IS NOT NULL`, id).Scan(&escrowed)
		if errors.Is(err, pgx.ErrNoRows) {
			return keypair.Errorf(keypair.ENOTFOUND, "Keypair %d not found", id)
		}
		if err != nil {
			return err
		}
		if escrowed && audit != nil {
			entry, err = appendAudit(ctx, tx, audit)
		}
		return err
	})
	if err != nil {
		return wrapKP("delete key pair", err)
	}
	if escrowed && audit != nil {
		committed(audit, entry)
	}
	return nil
}

// oneRow maps a statement on the key pair with id that changed no row to
// ENOTFOUND.
func oneRow(tag pgconn.CommandTag, err error, id int64, op string) error {
	if err != nil {
		return fmt.Errorf("postgres: %s: %w", op, err)
	}
	if tag.RowsAffected() == 0 {
		return keypair.Errorf(keypair.ENOTFOUND, "Keypair %d not found", id)
	}
	return nil
}
