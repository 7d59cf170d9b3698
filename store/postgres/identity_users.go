package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/keyhaven/keyhaven/identity"
)

// CreateUser inserts u: identity.ErrNotFound when its domain does not
// exist, identity.ErrConflict when its id or its name in the domain is taken.
func (s *Store) CreateUser(ctx context.Context, u *identity.User) error {
	const op = "create user"
	if u == nil {
		return errors.New("postgres: create user: nil user")
	}
	if err := need(op, "id", u.ID, "name", u.Name, "domain id", u.DomainID); err != nil {
		return err
	}
	return s.writeChecked(ctx, op, []ref{{"domains", "domain", u.DomainID}}, func(tx pgx.Tx) error {
		return insert(ctx, tx, op, fmt.Sprintf("id %q or name %q in domain %q", u.ID, u.Name, u.DomainID),
			`INSERT INTO users (id, name, domain_id, password_hash, enabled)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
			u.ID, u.Name, u.DomainID, u.PasswordHash, u.Enabled)
	})
}

// userColumns lists users columns in the order scanUser reads them.
const userColumns = `id, name, domain_id, password_hash, enabled`

// scanUser reads one row selected with userColumns.
func scanUser(r rowScanner) (*identity.User, error) {
	var u identity.User
	if err := r.Scan(&u.ID, &u.Name, &u.DomainID, &u.PasswordHash, &u.Enabled); err != nil {
		return nil, err
	}
	return &u, nil
}

// GetUser returns the user with that id, or identity.ErrNotFound.
func (s *Store) GetUser(ctx context.Context, id string) (*identity.User, error) {
	return getOne(ctx, s, "get user", fmt.Sprintf("id %q", id), scanUser,
		`SELECT `+userColumns+` FROM users WHERE id = $1`, id)
}

// GetUserByName returns the user called name in the domain, or
// identity.ErrNotFound.
func (s *Store) GetUserByName(ctx context.Context, domainID, name string) (*identity.User, error) {
	return getOne(ctx, s, "get user", fmt.Sprintf("name %q in domain %q", name, domainID), scanUser,
		`SELECT `+userColumns+` FROM users WHERE domain_id = $1 AND name = $2`, domainID, name)
}

// ListUsers returns the users matching f.DomainID and f.Name (empty fields
// match all) in byte order of name, then domain id.
func (s *Store) ListUsers(ctx context.Context, f identity.Filter) ([]*identity.User, error) {
	w, args := where("domain_id", f.DomainID, "name", f.Name)
	return list(ctx, s, "list users", scanUser,
		`SELECT `+userColumns+` FROM users`+w+` ORDER BY name, domain_id, id`, args...)
}

// UpdateUser changes a user's name, enabled flag and password hash in one
// transaction, the row locked FOR UPDATE from the read to the write:
// identity.ErrNotFound when there is no such user, identity.ErrConflict
// when another user of its domain has the name (the unique index decides,
// so concurrent renames cannot both win).
func (s *Store) UpdateUser(ctx context.Context, id string, change func(*identity.User) error) (*identity.User, error) {
	const op = "update user"
	if unstorable(id) {
		return nil, notFound(op, "a user id PostgreSQL cannot hold")
	}
	var u *identity.User
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		u, err = scanUser(tx.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1 FOR UPDATE`, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return notFound(op, fmt.Sprintf("user %q", id))
		}
		if err != nil {
			return fmt.Errorf("postgres: %s: %w", op, err)
		}
		wasEnabled, oldHash, domainID := u.Enabled, u.PasswordHash, u.DomainID
		if err := change(u); err != nil {
			return err
		}
		u.ID, u.DomainID = id, domainID
		if u.Name == "" {
			return errors.New("postgres: update user: a user needs a name")
		}
		_, err = tx.Exec(ctx, `UPDATE users SET name = $1, enabled = $2, password_hash = $3 WHERE id = $4`,
			u.Name, u.Enabled, u.PasswordHash, id)
		switch {
		case isCode(err, codeUniqueViolation):
			return conflict(op, fmt.Sprintf("name %q taken in the user's domain", u.Name))
		case err != nil:
			return fmt.Errorf("postgres: %s: %w", op, err)
		}
		if (wasEnabled && !u.Enabled) || oldHash != u.PasswordHash {
			return recordAccess(ctx, tx, identity.AccessUser, id)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// SetPassword replaces a user's password hash and records the access
// event that ends the user's older tokens, or fails with
// identity.ErrNotFound when there is no such user.
func (s *Store) SetPassword(ctx context.Context, userID, passwordHash string) error {
	const op = "set password"
	return s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE users SET password_hash = $1 WHERE id = $2`, passwordHash, userID)
		if err != nil {
			return fmt.Errorf("postgres: %s: %w", op, err)
		}
		if tag.RowsAffected() == 0 {
			return notFound(op, fmt.Sprintf("user %q", userID))
		}
		return recordAccess(ctx, tx, identity.AccessUser, userID)
	})
}
