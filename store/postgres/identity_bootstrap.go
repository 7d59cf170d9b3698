package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/keyhaven/keyhaven/identity"
)

// lockBootstrap is the advisory lock class (see lockMigrate) Bootstrap
// holds: kept here, apart from the others, as only Bootstrap takes it.
const lockBootstrap = 0x6b68_00b0

// Bootstrap creates whatever of p is missing, grants p.AdminRole to the
// user on the project and records the bootstrap done (in table
// identity_bootstrap), unless a bootstrap is recorded already, in one
// transaction that first takes an advisory lock: a concurrent Bootstrap,
// in any process on the same database, waits for this one and then (READ
// COMMITTED: each statement sees what committed before it) finds it
// recorded. An existing user is never changed.
func (s *Store) Bootstrap(ctx context.Context, p identity.BootstrapPlan) (bool, error) {
	const op = "bootstrap"
	if err := need(op, "domain id", p.Domain.ID, "domain name", p.Domain.Name,
		"project name", p.Project.Name, "user name", p.User.Name, "admin role", p.AdminRole); err != nil {
		return false, err
	}
	var created bool
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, 0)`, lockBootstrap); err != nil {
			return fmt.Errorf("postgres: %s: lock: %w", op, err)
		}
		var err error
		created, err = bootstrapTx{ctx: ctx, tx: tx}.run(p)
		return err
	})
	var te *txError
	if errors.As(err, &te) {
		return false, fmt.Errorf("postgres: %s: %w", op, err)
	}
	return created, err
}

// bootstrapTx runs Bootstrap's steps in one transaction.
type bootstrapTx struct {
	ctx context.Context
	tx  pgx.Tx
}

// run makes the plan's objects and the grant and records the bootstrap
// done, unless it is recorded already; it reports whether it made the
// user.
func (b bootstrapTx) run(p identity.BootstrapPlan) (bool, error) {
	var done bool
	if err := b.tx.QueryRow(b.ctx, `SELECT EXISTS (SELECT 1 FROM identity_bootstrap)`).Scan(&done); err != nil {
		return false, fmt.Errorf("postgres: bootstrap: %w", err)
	}
	if done {
		return false, nil
	}
	domainID, _, err := b.ensure("domain", `SELECT id FROM domains WHERE id = $1`, []any{p.Domain.ID},
		`INSERT INTO domains (id, name, enabled) VALUES ($1, $2, $3)`, p.Domain.ID, p.Domain.Name, p.Domain.Enabled)
	if err != nil {
		return false, err
	}
	roleIDs := map[string]string{}
	for _, r := range p.Roles {
		if r.ID == "" || r.Name == "" {
			return false, errors.New("postgres: bootstrap: a role needs an id and a name")
		}
		roleIDs[r.Name], _, err = b.ensure("role "+r.Name, `SELECT id FROM roles WHERE name = $1`, []any{r.Name},
			`INSERT INTO roles (id, name) VALUES ($1, $2)`, r.ID, r.Name)
		if err != nil {
			return false, err
		}
	}
	roleID, ok := roleIDs[p.AdminRole]
	if !ok {
		return false, fmt.Errorf("postgres: bootstrap: admin role %q is not among the plan's roles", p.AdminRole)
	}
	projectID, _, err := b.ensure("project", `SELECT id FROM projects WHERE domain_id = $1 AND name = $2`, []any{domainID, p.Project.Name},
		`INSERT INTO projects (id, name, domain_id, description, enabled) VALUES ($1, $2, $3, $4, $5)`,
		p.Project.ID, p.Project.Name, domainID, p.Project.Description, p.Project.Enabled)
	if err != nil {
		return false, err
	}
	userID, created, err := b.ensure("user", `SELECT id FROM users WHERE domain_id = $1 AND name = $2`, []any{domainID, p.User.Name},
		`INSERT INTO users (id, name, domain_id, password_hash, enabled) VALUES ($1, $2, $3, $4, $5)`,
		p.User.ID, p.User.Name, domainID, p.User.PasswordHash, p.User.Enabled)
	if err != nil {
		return false, err
	}
	if _, err := b.tx.Exec(b.ctx, `INSERT INTO assignments (user_id, project_id, role_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
		userID, projectID, roleID); err != nil {
		return false, fmt.Errorf("postgres: bootstrap: grant: %w", err)
	}
	if _, err := b.tx.Exec(b.ctx, `INSERT INTO identity_bootstrap (id, user_id, project_id, done_at) VALUES (1, $1, $2, $3)`,
		userID, projectID, time.Now().UnixMicro()); err != nil {
		return false, fmt.Errorf("postgres: bootstrap: record: %w", err)
	}
	return created, nil
}

// ensure returns the id the lookup finds, or runs the insert (whose first
// argument is the new id) and returns that id with created set.
func (b bootstrapTx) ensure(what, lookup string, lookupArgs []any, insertSQL string, insertArgs ...any) (string, bool, error) {
	id, err := b.find(what, lookup, lookupArgs)
	if err != nil || id != "" {
		return id, false, err
	}
	id, _ = insertArgs[0].(string)
	if id == "" {
		return "", false, fmt.Errorf("postgres: bootstrap: create %s: empty id", what)
	}
	err = insert(b.ctx, b.tx, "bootstrap: create "+what, fmt.Sprintf("id %q", id),
		insertSQL+` ON CONFLICT DO NOTHING`, insertArgs...)
	if errors.Is(err, identity.ErrConflict) {
		// A writer outside Bootstrap made it meanwhile (the insert waited
		// for it), or another unique column clashes: take the row if the
		// lookup now finds it, else report the clash.
		if again, ferr := b.find(what, lookup, lookupArgs); ferr != nil || again != "" {
			return again, false, ferr
		}
	}
	if err != nil {
		return "", false, err
	}
	return id, true, nil
}

// find runs a lookup of one id, returning "" when there is no row.
func (b bootstrapTx) find(what, lookup string, args []any) (string, error) {
	var id string
	err := b.tx.QueryRow(b.ctx, lookup, args...).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("postgres: bootstrap: find %s: %w", what, err)
	}
	return id, nil
}
