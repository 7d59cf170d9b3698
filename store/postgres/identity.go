package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

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
	return fmt.Errorf("postgres: %s: %s: %w", op, what, identity.ErrNotFound)
}

// conflict wraps identity.ErrConflict for op.
func conflict(op, what string) error {
	return fmt.Errorf("postgres: %s: %s: %w", op, what, identity.ErrConflict)
}

// need fails op when one of the (field, value) pairs has an empty value.
func need(op string, pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] == "" {
			return fmt.Errorf("postgres: %s: empty %s", op, pairs[i])
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
			args = append(args, pairs[i+1])
			conds = append(conds, pairs[i]+" = $"+strconv.Itoa(len(args)))
		}
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

// getOne runs a query that selects at most one row and scans it, mapping
// no row to identity.ErrNotFound.
func getOne[T any](ctx context.Context, s *Store, op, what string, scan func(rowScanner) (T, error), query string, args ...any) (T, error) {
	if unstorable(args...) {
		var zero T
		return zero, notFound(op, what)
	}
	v, err := scan(s.pool.QueryRow(ctx, query, args...))
	if errors.Is(err, pgx.ErrNoRows) {
		var zero T
		return zero, notFound(op, what)
	}
	if err != nil {
		var zero T
		return zero, fmt.Errorf("postgres: %s: %w", op, err)
	}
	return v, nil
}

// list runs a query and scans every row; it returns an empty, non-nil
// slice when there are none.
func list[T any](ctx context.Context, s *Store, op string, scan func(rowScanner) (T, error), query string, args ...any) ([]T, error) {
	if unstorable(args...) {
		return []T{}, nil
	}
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", op, err)
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("postgres: %s: %w", op, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", op, err)
	}
	return out, nil
}

// execer is what the pool and a transaction have in common.
type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// insert runs an INSERT ... ON CONFLICT DO NOTHING through db and maps "no
// row inserted" (or a unique violation) to identity.ErrConflict and a
// foreign key violation to identity.ErrNotFound.
func insert(ctx context.Context, db execer, op, what, query string, args ...any) error {
	tag, err := db.Exec(ctx, query, args...)
	switch {
	case isCode(err, codeUniqueViolation):
		return conflict(op, what)
	case isCode(err, codeForeignKeyViolation):
		return notFound(op, "a referenced object does not exist")
	case err != nil:
		return fmt.Errorf("postgres: %s: %w", op, err)
	case tag.RowsAffected() == 0:
		return conflict(op, what)
	}
	return nil
}

// ref names a row another row refers to: its table (a literal in this
// package, never caller input), a label for errors, and its id.
type ref struct{ table, label, id string }

// writeChecked runs fn in one transaction after checking that every row in
// refs exists, locking it FOR KEY SHARE so it cannot vanish before commit,
// and failing with identity.ErrNotFound naming the first that does not.
// The foreign keys would refuse the write too; the check gives the caller
// the sentinel and a clear message.
func (s *Store) writeChecked(ctx context.Context, op string, refs []ref, fn func(tx pgx.Tx) error) error {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		for _, r := range refs {
			if unstorable(r.id) {
				return notFound(op, fmt.Sprintf("%s %q", r.label, r.id))
			}
			var one int
			err := tx.QueryRow(ctx, `SELECT 1 FROM `+r.table+` WHERE id = $1 FOR KEY SHARE`, r.id).Scan(&one)
			if errors.Is(err, pgx.ErrNoRows) {
				return notFound(op, fmt.Sprintf("%s %q", r.label, r.id))
			}
			if err != nil {
				return fmt.Errorf("postgres: %s: %w", op, err)
			}
		}
		return fn(tx)
	})
	var te *txError
	if errors.As(err, &te) {
		return fmt.Errorf("postgres: %s: %w", op, err)
	}
	return err
}

// CreateDomain inserts d; identity.ErrConflict when its id or name is taken.
func (s *Store) CreateDomain(ctx context.Context, d *identity.Domain) error {
	const op = "create domain"
	if d == nil {
		return errors.New("postgres: create domain: nil domain")
	}
	if err := need(op, "id", d.ID, "name", d.Name); err != nil {
		return err
	}
	return insert(ctx, s.pool, op, fmt.Sprintf("id %q or name %q", d.ID, d.Name),
		`INSERT INTO domains (id, name, enabled) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
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
		`SELECT `+domainColumns+` FROM domains WHERE id = $1`, id)
}

// GetDomainByName returns the domain called name, or identity.ErrNotFound.
func (s *Store) GetDomainByName(ctx context.Context, name string) (*identity.Domain, error) {
	return getOne(ctx, s, "get domain", fmt.Sprintf("name %q", name), scanDomain,
		`SELECT `+domainColumns+` FROM domains WHERE name = $1`, name)
}

// CreateProject inserts p: identity.ErrNotFound when its domain does not
// exist, identity.ErrConflict when its id or its name in the domain is taken.
func (s *Store) CreateProject(ctx context.Context, p *identity.Project) error {
	const op = "create project"
	if p == nil {
		return errors.New("postgres: create project: nil project")
	}
	if err := need(op, "id", p.ID, "name", p.Name, "domain id", p.DomainID); err != nil {
		return err
	}
	return s.writeChecked(ctx, op, []ref{{"domains", "domain", p.DomainID}}, func(tx pgx.Tx) error {
		return insert(ctx, tx, op, fmt.Sprintf("id %q or name %q in domain %q", p.ID, p.Name, p.DomainID),
			`INSERT INTO projects (id, name, domain_id, description, enabled)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
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
		`SELECT `+projectColumns+` FROM projects WHERE id = $1`, id)
}

// GetProjectByName returns the project called name in the domain, or
// identity.ErrNotFound.
func (s *Store) GetProjectByName(ctx context.Context, domainID, name string) (*identity.Project, error) {
	return getOne(ctx, s, "get project", fmt.Sprintf("name %q in domain %q", name, domainID), scanProject,
		`SELECT `+projectColumns+` FROM projects WHERE domain_id = $1 AND name = $2`, domainID, name)
}

// ListProjects returns the projects matching f.DomainID and f.Name (empty
// fields match all) in byte order of name, then domain id.
func (s *Store) ListProjects(ctx context.Context, f identity.Filter) ([]*identity.Project, error) {
	w, args := where("domain_id", f.DomainID, "name", f.Name)
	return list(ctx, s, "list projects", scanProject,
		`SELECT `+projectColumns+` FROM projects`+w+` ORDER BY name, domain_id, id`, args...)
}
