package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/keyhaven/keyhaven/identity"
)

// Store implements the built-in identity service's storage interface.
var _ identity.Store = (*Store)(nil)

// Identity objects live in the tables of migration 0002. IDs are the
// caller's; the store only refuses empty ones. Names compare byte for byte.
// A create that hits a taken id or name fails with identity.ErrConflict, a
// reference to a missing domain, user, project or role with
// identity.ErrNotFound; both are wrapped, and errors.Is finds them.

// notFound wraps identity.ErrNotFound for op, e.g. "get project".
func notFound(op, what string) error {
	return fmt.Errorf("sqlite: %s: %s: %w", op, what, identity.ErrNotFound)
}

// conflict wraps identity.ErrConflict for op.
func conflict(op, what string) error {
	return fmt.Errorf("sqlite: %s: %s: %w", op, what, identity.ErrConflict)
}

// need fails op when one of the (field, value) pairs has an empty value.
func need(op string, pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] == "" {
			return fmt.Errorf("sqlite: %s: empty %s", op, pairs[i])
		}
	}
	return nil
}

// where turns (column, value) pairs into a WHERE clause matching every
// pair whose value is not empty, and its arguments.
func where(pairs ...string) (string, []any) {
	var conds []string
	var args []any
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] != "" {
			conds = append(conds, pairs[i]+" = ?")
			args = append(args, pairs[i+1])
		}
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

// getOne runs a query that selects at most one row on the readers and
// scans it, mapping no row to identity.ErrNotFound.
func getOne[T any](ctx context.Context, s *Store, op, what string, scan func(rowScanner) (T, error), query string, args ...any) (T, error) {
	v, err := scan(s.r.QueryRowContext(ctx, query, args...))
	if errors.Is(err, sql.ErrNoRows) {
		var zero T
		return zero, notFound(op, what)
	}
	if err != nil {
		var zero T
		return zero, fmt.Errorf("sqlite: %s: %w", op, err)
	}
	return v, nil
}

// list runs a query on the readers and scans every row; it returns an
// empty, non-nil slice when there are none.
func list[T any](ctx context.Context, s *Store, op string, scan func(rowScanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %s: %w", op, err)
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: %s: %w", op, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: %s: %w", op, err)
	}
	return out, nil
}

// insert runs an INSERT ... ON CONFLICT DO NOTHING through exec and maps
// "no row inserted" to identity.ErrConflict.
func insert(ctx context.Context, exec interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, op, what, query string, args ...any) error {
	res, err := exec.ExecContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("sqlite: %s: %w", op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlite: %s: %w", op, err)
	}
	if n == 0 {
		return conflict(op, what)
	}
	return nil
}

// ref names a row another row refers to: its table (a literal in this
// package, never caller input), a label for errors, and its id.
type ref struct{ table, label, id string }

// writeChecked runs fn in one write transaction (BEGIN IMMEDIATE) after
// checking that every row in refs exists, failing with identity.ErrNotFound
// naming the first that does not. The foreign keys would refuse the write
// too; the check gives the caller the sentinel and a clear message.
func (s *Store) writeChecked(ctx context.Context, op string, refs []ref, fn func(tx *sql.Tx) error) error {
	return s.inTx(ctx, op, func(tx *sql.Tx) error {
		for _, r := range refs {
			var ok bool
			err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM `+r.table+` WHERE id = ?)`, r.id).Scan(&ok)
			if err != nil {
				return fmt.Errorf("sqlite: %s: %w", op, err)
			}
			if !ok {
				return notFound(op, fmt.Sprintf("%s %q", r.label, r.id))
			}
		}
		return fn(tx)
	})
}

// CreateDomain inserts d; identity.ErrConflict when its id or name is taken.
func (s *Store) CreateDomain(ctx context.Context, d *identity.Domain) error {
	const op = "create domain"
	if d == nil {
		return errors.New("sqlite: create domain: nil domain")
	}
	if err := need(op, "id", d.ID, "name", d.Name); err != nil {
		return err
	}
	return insert(ctx, s.w, op, fmt.Sprintf("id %q or name %q", d.ID, d.Name),
		`INSERT INTO domains (id, name, enabled) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
		d.ID, d.Name, d.Enabled)
}

// domainColumns lists domains columns in the order scanDomain reads them.
const domainColumns = `id, name, enabled`

// scanDomain reads one row selected with domainColumns.
func scanDomain(r rowScanner) (*identity.Domain, error) {
	var d identity.Domain
	if err := r.Scan(&d.ID, &d.Name, &d.Enabled); err != nil {
		return nil, err
	}
	return &d, nil
}

// GetDomain returns the domain with that id, or identity.ErrNotFound.
func (s *Store) GetDomain(ctx context.Context, id string) (*identity.Domain, error) {
	return getOne(ctx, s, "get domain", fmt.Sprintf("id %q", id), scanDomain,
		`SELECT `+domainColumns+` FROM domains WHERE id = ?`, id)
}

// GetDomainByName returns the domain called name, or identity.ErrNotFound.
func (s *Store) GetDomainByName(ctx context.Context, name string) (*identity.Domain, error) {
	return getOne(ctx, s, "get domain", fmt.Sprintf("name %q", name), scanDomain,
		`SELECT `+domainColumns+` FROM domains WHERE name = ?`, name)
}

// CreateProject inserts p: identity.ErrNotFound when its domain does not
// exist, identity.ErrConflict when its id or its name in the domain is taken.
func (s *Store) CreateProject(ctx context.Context, p *identity.Project) error {
	const op = "create project"
	if p == nil {
		return errors.New("sqlite: create project: nil project")
	}
	if err := need(op, "id", p.ID, "name", p.Name, "domain id", p.DomainID); err != nil {
		return err
	}
	return s.writeChecked(ctx, op, []ref{{"domains", "domain", p.DomainID}}, func(tx *sql.Tx) error {
		return insert(ctx, tx, op, fmt.Sprintf("id %q or name %q in domain %q", p.ID, p.Name, p.DomainID),
			`INSERT INTO projects (id, name, domain_id, description, enabled)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
			p.ID, p.Name, p.DomainID, p.Description, p.Enabled)
	})
}

// projectColumns lists projects columns in the order scanProject reads them.
const projectColumns = `id, name, domain_id, description, enabled`

// scanProject reads one row selected with projectColumns.
func scanProject(r rowScanner) (*identity.Project, error) {
	var p identity.Project
	if err := r.Scan(&p.ID, &p.Name, &p.DomainID, &p.Description, &p.Enabled); err != nil {
		return nil, err
	}
	return &p, nil
}

// GetProject returns the project with that id, or identity.ErrNotFound.
func (s *Store) GetProject(ctx context.Context, id string) (*identity.Project, error) {
	return getOne(ctx, s, "get project", fmt.Sprintf("id %q", id), scanProject,
		`SELECT `+projectColumns+` FROM projects WHERE id = ?`, id)
}

// GetProjectByName returns the project called name in the domain, or
// identity.ErrNotFound.
func (s *Store) GetProjectByName(ctx context.Context, domainID, name string) (*identity.Project, error) {
	return getOne(ctx, s, "get project", fmt.Sprintf("name %q in domain %q", name, domainID), scanProject,
		`SELECT `+projectColumns+` FROM projects WHERE domain_id = ? AND name = ?`, domainID, name)
}

// ListProjects returns the projects matching f.DomainID and f.Name (empty
// fields match all) in byte order of name, then domain id.
func (s *Store) ListProjects(ctx context.Context, f identity.Filter) ([]*identity.Project, error) {
	w, args := where("domain_id", f.DomainID, "name", f.Name)
	return list(ctx, s, "list projects", scanProject,
		`SELECT `+projectColumns+` FROM projects`+w+` ORDER BY name, domain_id, id`, args...)
}

// CreateUser inserts u: identity.ErrNotFound when its domain does not
// exist, identity.ErrConflict when its id or its name in the domain is taken.
func (s *Store) CreateUser(ctx context.Context, u *identity.User) error {
	const op = "create user"
	if u == nil {
		return errors.New("sqlite: create user: nil user")
	}
	if err := need(op, "id", u.ID, "name", u.Name, "domain id", u.DomainID); err != nil {
		return err
	}
	return s.writeChecked(ctx, op, []ref{{"domains", "domain", u.DomainID}}, func(tx *sql.Tx) error {
		return insert(ctx, tx, op, fmt.Sprintf("id %q or name %q in domain %q", u.ID, u.Name, u.DomainID),
			`INSERT INTO users (id, name, domain_id, password_hash, enabled)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
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
		`SELECT `+userColumns+` FROM users WHERE id = ?`, id)
}

// GetUserByName returns the user called name in the domain, or
// identity.ErrNotFound.
func (s *Store) GetUserByName(ctx context.Context, domainID, name string) (*identity.User, error) {
	return getOne(ctx, s, "get user", fmt.Sprintf("name %q in domain %q", name, domainID), scanUser,
		`SELECT `+userColumns+` FROM users WHERE domain_id = ? AND name = ?`, domainID, name)
}

// ListUsers returns the users matching f.DomainID and f.Name (empty fields
// match all) in byte order of name, then domain id.
func (s *Store) ListUsers(ctx context.Context, f identity.Filter) ([]*identity.User, error) {
	w, args := where("domain_id", f.DomainID, "name", f.Name)
	return list(ctx, s, "list users", scanUser,
		`SELECT `+userColumns+` FROM users`+w+` ORDER BY name, domain_id, id`, args...)
}

// UpdateUser changes a user's name, enabled flag and password hash in one
// write transaction, refusing a name another user of its domain has.
func (s *Store) UpdateUser(ctx context.Context, id string, change func(*identity.User) error) (*identity.User, error) {
	const op = "update user"
	var u *identity.User
	err := s.inTx(ctx, op, func(tx *sql.Tx) error {
		var err error
		u, err = scanUser(tx.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return notFound(op, fmt.Sprintf("user %q", id))
		}
		if err != nil {
			return fmt.Errorf("sqlite: %s: %w", op, err)
		}
		wasEnabled, oldHash, domainID := u.Enabled, u.PasswordHash, u.DomainID
		if err := change(u); err != nil {
			return err
		}
		u.ID, u.DomainID = id, domainID
		if u.Name == "" {
			return errors.New("sqlite: update user: a user needs a name")
		}
		var taken bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM users WHERE domain_id = ? AND name = ? AND id <> ?)`,
			domainID, u.Name, id).Scan(&taken); err != nil {
			return fmt.Errorf("sqlite: %s: %w", op, err)
		}
		if taken {
			return conflict(op, fmt.Sprintf("name %q in domain %q", u.Name, domainID))
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET name = ?, enabled = ?, password_hash = ? WHERE id = ?`,
			u.Name, u.Enabled, u.PasswordHash, id); err != nil {
			return fmt.Errorf("sqlite: %s: %w", op, err)
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
// event that ends the user's older tokens.
func (s *Store) SetPassword(ctx context.Context, userID, passwordHash string) error {
	return s.inTx(ctx, "set password", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = ? WHERE id = ?`, passwordHash, userID)
		if err != nil {
			return fmt.Errorf("sqlite: set password: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("sqlite: set password: %w", err)
		}
		if n == 0 {
			return notFound("set password", fmt.Sprintf("user %q", userID))
		}
		return recordAccess(ctx, tx, identity.AccessUser, userID)
	})
}
