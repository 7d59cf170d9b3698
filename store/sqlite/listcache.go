package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/keyhaven/keyhaven/keypair"
)

// The list cache keeps recent list pages in memory. A page of 50 costs the
// driver about 50 rows of columns to read; checking a kept page costs one
// row of two integers: the versions that migrations 0010's and 0011's
// triggers bump, in the transaction of the change, whenever the viewer's
// own key pairs or those shared with the viewer's domain change (0011
// added the columns no list shows, for the get cache). A page is kept
// with the versions read in the same read transaction as its rows, and
// served again only while both are unchanged, so it is always what a
// fresh read would return: the triggers fire for every statement of every
// process, this one or another (an operator's `keyhaven kms rewrap`), and
// a write is answered only after it committed, so a caller always lists
// what it wrote. While nothing at all has committed since a page was read
// or last checked, not even that row is read (walstamp.go).

// sqlListVersions reads the versions a viewer's list depends on (?1 the
// user, ?2 the domain or ”).
const sqlListVersions = `SELECT ` + versionColumns

// versionColumns are the versions as two result columns.
const versionColumns = `coalesce((SELECT version FROM key_pair_counts WHERE user_id = ?1), 0),
	coalesce((SELECT version FROM key_pair_domain_versions WHERE ?2 <> '' AND domain_id = ?2), 0)`

// Bounds of the list cache. Only pages of at most maxCachedPage key pairs
// (a whole list, limit -1, when it is that short) are kept, at most
// maxCachedRows key pairs in all (a few tens of MB of public keys at
// most); when full, it starts over empty.
const (
	maxCachedPage = 1000
	maxCachedRows = 50_000
)

// listKey is one page of one viewer's list.
type listKey struct {
	user, domain, marker string
	limit                int64
}

// listVersions are what an answer was read at.
type listVersions struct{ user, domain int64 }

// listCache holds kept pages.
type listCache = kept[listKey, []keypair.Listed]

// newListCache returns an empty list cache with the bounds above.
func newListCache() *listCache {
	return &listCache{
		maxOne:  maxCachedPage,
		maxRows: maxCachedRows,
		weigh:   func(page []keypair.Listed) int { return len(page) },
		dup: func(page []keypair.Listed) []keypair.Listed {
			return append(make([]keypair.Listed, 0, len(page)), page...)
		},
	}
}

// listVersionsOf reads the versions v's list depends on with st
// (sqlListVersions, on the readers' pool or in a read transaction).
func listVersionsOf(ctx context.Context, st *sql.Stmt, v keypair.Viewer) (listVersions, error) {
	var at listVersions
	if err := st.QueryRowContext(ctx, v.UserID, v.DomainID).Scan(&at.user, &at.domain); err != nil {
		return at, fmt.Errorf("sqlite: list versions: %w", err)
	}
	return at, nil
}

// probe returns a reader of the versions v's answers depend on now.
func (s *Store) probe(ctx context.Context, v keypair.Viewer) func() (listVersions, error) {
	return func() (listVersions, error) { return listVersionsOf(ctx, s.st.rListVersions, v) }
}

// uncancelled is ctx without its cancellation, for the statements of one
// row (a get, a probe of versions): with a context that can be cancelled,
// database/sql and the driver each start a goroutine per statement to
// watch it, which cost a show more than its read (about a tenth of its
// CPU), to interrupt a statement that ends in microseconds anyway. A
// caller checks ctx.Err() first, so a request given up on still fails.
func uncancelled(ctx context.Context) context.Context { return context.WithoutCancel(ctx) }

// cachedList answers a page from the cache when its versions still hold,
// and otherwise reads it with read, in one read transaction with the
// versions it is then kept at.
func (s *Store) cachedList(ctx context.Context, v keypair.Viewer, page keypair.Page, limit int64,
	read func(ctx context.Context, list *sql.Stmt) ([]keypair.Listed, error)) ([]keypair.Listed, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if limit > maxCachedPage+1 {
		return read(ctx, s.st.rList)
	}
	k := listKey{user: v.UserID, domain: v.DomainID, marker: page.Marker, limit: limit}
	now := s.stamps.read() // before any statement: see walstamp.go
	if kps, ok, err := s.lists.lookup(k, now, s.probe(uncancelled(ctx), v)); ok || err != nil {
		return kps, err
	}
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("sqlite: list key pairs: %w", err)
	}
	defer tx.Rollback()
	at, err := listVersionsOf(ctx, tx.StmtContext(ctx, s.st.rListVersions), v)
	if err != nil {
		return nil, err
	}
	kps, err := read(ctx, tx.StmtContext(ctx, s.st.rList))
	if err != nil {
		return nil, err
	}
	s.lists.put(k, at, now, kps)
	return kps, nil
}
