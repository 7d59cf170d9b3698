package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/keyhaven/keyhaven/keypair"
)

// The get cache keeps recently read key pairs, as the list cache keeps
// pages and on the same terms: an entry is kept with the versions read in
// the same statement as its row, and served again only while nothing has
// committed since (walstamp.go) or a probe of those versions finds them
// unchanged. Since migration 0011 the triggers
// bump them on every insert, delete and update of any column of the
// viewer's own key pairs and of those shared with the viewer's domain, by
// any process, so a kept key pair is always what a fresh read returns.
// A show's read of about sixteen columns costs the driver about twice the
// probe's two integers.
//
// A key pair with an escrowed private key is never kept: its sealed copy
// stays in the database only, and an export reads it afresh.

// maxCachedGets bounds the get cache: at about a kilobyte a key pair, a
// few MB.
const maxCachedGets = 10_000

// getKey is one name as one viewer resolves it.
type getKey struct{ user, domain, name string }

// getCache holds kept key pairs.
type getCache = kept[getKey, *keypair.KeyPair]

// newGetCache returns an empty get cache bounded by maxCachedGets.
func newGetCache() *getCache {
	return &getCache{
		maxOne:  1,
		maxRows: maxCachedGets,
		weigh:   func(*keypair.KeyPair) int { return 1 },
		// Only key pairs without escrow or details are kept (GetKeyPair
		// checks), so a copy of the struct shares nothing a caller could
		// change.
		dup: func(kp *keypair.KeyPair) *keypair.KeyPair { c := *kp; return &c },
	}
}

// GetKeyPair returns the key pair called name that v sees: v's own, or one
// shared with v's domain; ENOTFOUND when there is none. One kept while its
// versions hold comes from the get cache.
func (s *Store) GetKeyPair(ctx context.Context, v keypair.Viewer, name string) (*keypair.KeyPair, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	now := s.stamps.read() // before any statement: see walstamp.go
	ctx = uncancelled(ctx)
	k := getKey{user: v.UserID, domain: v.DomainID, name: name}
	if kp, ok, err := s.gets.lookup(k, now, s.probe(ctx, v)); ok || err != nil {
		return kp, err
	}
	var at listVersions
	kp, err := scanKeyPair(s.st.rGet.QueryRowContext(ctx, v.UserID, v.DomainID, name), &at.user, &at.domain)
	if errors.Is(err, sql.ErrNoRows) {
		s.gets.drop(k)
		return nil, keypair.NotFound(name, v.UserID)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: get key pair: %w", err)
	}
	if kp.Escrow == nil && kp.Details.Tags == nil && kp.Details.ExpiresAt == nil && kp.Details.Previous == nil {
		s.gets.put(k, at, now, kp)
	} else {
		s.gets.drop(k) // no probe for it again
	}
	return kp, nil
}
