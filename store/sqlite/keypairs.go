package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/keyhaven/keyhaven/keypair"
)

// Store implements the domain's storage interface.
var _ keypair.Store = (*Store)(nil)

// columns lists key_pairs columns in the order scanKeyPair reads them.
const columns = `id, uid, user_id, project_id, domain_id, name, type, scope, public_key,
	fingerprint, algorithm, description, created_at, updated_at, escrow_ref, escrow_blob`

// listColumns are what a list shows of a key pair (keypair.Listed): each
// column a row crosses costs the driver, so a page reads only these.
const listColumns = `id, name, type, scope, public_key, fingerprint, escrow_ref IS NOT NULL`

// scanListed reads one row selected with listColumns.
func scanListed(r rowScanner) (keypair.Listed, error) {
	var l keypair.Listed
	var typ, scope string
	err := r.Scan(&l.ID, &l.Name, &typ, &scope, &l.PublicKey, &l.Fingerprint, &l.Protected)
	l.Type, l.Scope = keypair.Type(typ), keypair.Scope(scope)
	return l, err
}

// rowScanner is what *sql.Row and *sql.Rows have in common.
type rowScanner interface {
	Scan(dest ...any) error
}

// scanKeyPair reads one row selected with columns, after the columns that
// lead's destinations take (a get's versions). Escrow is nil when the row
// holds no escrowed private key.
func scanKeyPair(r rowScanner, lead ...any) (*keypair.KeyPair, error) {
	var kp keypair.KeyPair
	var typ, scope string
	var created, updated int64
	var ref sql.NullString
	var blob []byte
	if err := r.Scan(append(lead, &kp.ID, &kp.UID, &kp.UserID, &kp.ProjectID, &kp.DomainID, &kp.Name, &typ, &scope,
		&kp.PublicKey, &kp.Fingerprint, &kp.Algorithm, &kp.Description, &created, &updated,
		&ref, &blob)...); err != nil {
		return nil, err
	}
	kp.Type = keypair.Type(typ)
	kp.Scope = keypair.Scope(scope)
	kp.CreatedAt = time.UnixMicro(created).UTC()
	kp.UpdatedAt = time.UnixMicro(updated).UTC()
	if ref.Valid {
		kp.Escrow = &keypair.Escrowed{KeyRef: ref.String, Blob: blob}
	}
	return &kp, nil
}

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
		return fmt.Errorf("sqlite: create key pair: %w", err)
	}
	return err
}

// CreateKeyPair inserts kp in a write transaction (BEGIN IMMEDIATE, so
// it holds the database's write lock throughout and concurrent creates, in
// this process or another, run one after the other), which it may share
// with concurrent writes (groupcommit.go) in a savepoint of its own. It
// reads the owner's count (key_pair_counts, which triggers keep in step
// with the rows) and fails with EQUOTA when it is quota or more, then
// fails with ECONFLICT when the name would resolve to two key pairs for
// some user:
//
//   - user scope: the owner has a key pair of that name, or one of that
//     name is shared with the owner's domain (when it is known);
//   - domain scope: the owner has a key pair of that name, or any key pair
//     of the domain (shared, or owned by one of its users) has it.
//
// A domain-scope key pair needs kp.DomainID (EINVALID). audit, when not
// nil, is appended in the same transaction with KeyPairID the new id. On
// success it sets kp.ID, kp.CreatedAt and kp.UpdatedAt (UTC, to the
// microsecond), and audit's KeyPairID, Seq, PrevHash and Hash.
func (s *Store) CreateKeyPair(ctx context.Context, kp *keypair.KeyPair, quota int, audit *keypair.AuditEntry) error {
	if err := checkNew(kp); err != nil {
		return err
	}
	var id int64
	var now time.Time
	var entry keypair.AuditEntry
	// Without details or an audit entry, create's only change is its
	// INSERT (the counters' triggers are part of it).
	single := audit == nil && len(kp.Details.Tags) == 0 && kp.Details.ExpiresAt == nil
	err := s.groupWrite(ctx, single, func(ctx context.Context, tx *sql.Tx, _ *write) error {
		var err error
		id, now, entry, err = s.create(ctx, tx, kp, quota, audit)
		return err
	}, func() {
		kp.ID = id
		kp.CreatedAt, kp.UpdatedAt = now, now
		if audit != nil {
			committed(audit, entry)
		}
	})
	return wrapKP("create key pair", err)
}

// create is CreateKeyPair's write in tx (one savepoint of a batch): it
// returns the new id, its time and audit's inserted copy.
func (s *Store) create(ctx context.Context, tx *sql.Tx, kp *keypair.KeyPair, quota int, audit *keypair.AuditEntry) (int64, time.Time, keypair.AuditEntry, error) {
	var none keypair.AuditEntry
	insert, check := s.st.wInsertUser, s.st.wCheckUser
	if kp.Scope == keypair.ScopeDomain {
		insert, check = s.st.wInsertDomain, s.st.wCheckDomain
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	ref, blob := escrowArgs(kp.Escrow)
	var id int64
	err := tx.StmtContext(ctx, insert).QueryRowContext(ctx,
		kp.UID, kp.UserID, kp.ProjectID, kp.DomainID, kp.Name, string(kp.Type), string(kp.Scope),
		kp.PublicKey, kp.Fingerprint, kp.Algorithm, kp.Description, now.UnixMicro(), now.UnixMicro(),
		ref, blob, quota).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, time.Time{}, none, refusal(ctx, tx.StmtContext(ctx, check), kp, quota)
	}
	if err != nil {
		return 0, time.Time{}, none, fmt.Errorf("insert: %w", err)
	}
	if err := insertDetails(ctx, tx, id, kp.Details); err != nil {
		return 0, time.Time{}, none, err
	}
	if audit == nil {
		return id, now, none, nil
	}
	e := *audit
	e.KeyPairID = id
	entry, err := appendAudit(ctx, tx, &e)
	return id, now, entry, err
}

// refusal says why create's conditional insert wrote nothing, read with
// check (sqlCheckUser or sqlCheckDomain) in the same transaction: the
// quota first, then the name, as Nova orders them.
func refusal(ctx context.Context, check *sql.Stmt, kp *keypair.KeyPair, quota int) error {
	var n int
	var isTaken bool
	if err := check.QueryRowContext(ctx, kp.UserID, kp.Name, kp.DomainID).Scan(&n, &isTaken); err != nil {
		return fmt.Errorf("check quota and name: %w", err)
	}
	switch {
	case n >= quota:
		return keypair.QuotaExceeded()
	case isTaken:
		return keypair.Conflict(kp.Name)
	}
	return fmt.Errorf("insert of %q refused with %d of %d key pairs and the name free", kp.Name, n, quota)
}

// visible selects, with ?1 the viewer's user and ?2 their domain, the key
// pairs the viewer sees that also match cond (on name, with ?3): their own,
// then those shared with their domain whose name they do not own. Creates
// keep names from resolving twice; should it happen anyway (a user whose
// recorded domain changed), their own key pair wins, in Get and List alike.
func visible(cond string) string { return visibleCols(columns, cond) }

// visibleCols is visible selecting cols.
func visibleCols(cols, cond string) string {
	return `SELECT ` + cols + ` FROM key_pairs WHERE user_id = ?1 AND ` + cond + `
		UNION ALL
		SELECT ` + cols + ` FROM key_pairs AS k
		WHERE ?2 <> '' AND domain_id = ?2 AND scope = 'domain' AND user_id <> ?1 AND ` + cond + `
		AND NOT EXISTS (SELECT 1 FROM key_pairs WHERE user_id = ?1 AND name = k.name)`
}

// ListKeyPairs returns the key pairs v sees in byte order of name, those
// after page.Marker when it is set (EINVALID when v sees no key pair of
// that name), at most page.Limit of them when Limit > 0.
//
// With a marker it runs one statement, name >= marker, and checks that the
// first row is the marker itself, so the check and the page come from the
// same snapshot. A page read before whose versions still hold comes from
// the list cache (listcache.go).
func (s *Store) ListKeyPairs(ctx context.Context, v keypair.Viewer, page keypair.Page) ([]keypair.Listed, error) {
	limit := int64(-1) // SQLite: a negative LIMIT means no limit
	if page.Limit > 0 {
		limit = int64(page.Limit)
		if page.Marker != "" && limit < math.MaxInt64 {
			limit++ // room for the marker row
		}
	}
	return s.cachedList(ctx, v, page, limit, func(ctx context.Context, list *sql.Stmt) ([]keypair.Listed, error) {
		return readList(ctx, list, v, page, limit)
	})
}

// readList reads a page with list (sqlList, prepared on the readers).
func readList(ctx context.Context, list *sql.Stmt, v keypair.Viewer, page keypair.Page, limit int64) ([]keypair.Listed, error) {
	rows, err := list.QueryContext(ctx, v.UserID, v.DomainID, page.Marker, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list key pairs: %w", err)
	}
	defer rows.Close()

	kps := make([]keypair.Listed, 0, min(max(limit, 0), 100))
	first := true
	for rows.Next() {
		kp, err := scanListed(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list key pairs: %w", err)
		}
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
		return nil, fmt.Errorf("sqlite: list key pairs: %w", err)
	}
	if first && page.Marker != "" {
		return nil, keypair.MarkerNotFound(page.Marker) // no row >= marker
	}
	return kps, nil
}

// CountKeyPairs returns how many key pairs the user owns, of either scope.
func (s *Store) CountKeyPairs(ctx context.Context, userID string) (int, error) {
	var n int
	err := s.st.rCount.QueryRowContext(ctx, userID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("sqlite: count key pairs: %w", err)
	}
	return n, nil
}

// DeleteKeyPair removes the key pair with id, escrowed private key and
// all, or fails with ENOTFOUND. When the key pair held a private key in
// escrow, audit (if not nil) is appended in the same transaction, and the
// sealed copy is scrubbed from every file of the database (see scrub).
func (s *Store) DeleteKeyPair(ctx context.Context, id int64, audit *keypair.AuditEntry) error {
	var escrowed bool
	var entry keypair.AuditEntry
	err := s.groupWrite(ctx, audit == nil, func(ctx context.Context, tx *sql.Tx, w *write) error {
		err := tx.StmtContext(ctx, s.st.wDelete).QueryRowContext(ctx, id).Scan(&escrowed)
		if errors.Is(err, sql.ErrNoRows) {
			return keypair.Errorf(keypair.ENOTFOUND, "Keypair %d not found", id)
		}
		if err != nil {
			return err
		}
		if escrowed && audit != nil {
			if entry, err = appendAudit(ctx, tx, audit); err != nil {
				return err
			}
		}
		w.scrub = escrowed
		return nil
	}, func() {
		if escrowed && audit != nil {
			committed(audit, entry)
		}
	})
	return wrapKP("delete key pair", err)
}

// wrapKP returns a domain error (*keypair.Error) and an error already
// naming this package unchanged, and prefixes any other with the package
// and op.
func wrapKP(op string, err error) error {
	var ke *keypair.Error
	if err == nil || errors.As(err, &ke) || strings.HasPrefix(err.Error(), "sqlite: ") {
		return err
	}
	return fmt.Errorf("sqlite: %s: %w", op, err)
}

// oneRow maps a statement on the key pair with id that changed no row to
// ENOTFOUND.
func oneRow(res sql.Result, id int64, op string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlite: %s: %w", op, err)
	}
	if n == 0 {
		return keypair.Errorf(keypair.ENOTFOUND, "Keypair %d not found", id)
	}
	return nil
}
