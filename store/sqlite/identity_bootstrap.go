package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/keyhaven/keyhaven/identity"
)

// Bootstrap creates whatever of p is missing, grants p.AdminRole to the
// user on the project and records the bootstrap done (in table
// identity_bootstrap), all in one write transaction, unless a bootstrap is
// recorded already. The writer's transactions begin IMMEDIATE, so a
// concurrent Bootstrap, in this process or another on the same file,
// waits for this one and then finds it recorded. An existing user is
// never changed.
func (s *Store) Bootstrap(ctx context.Context, p identity.BootstrapPlan) (bool, error) {
	const op = "bootstrap"
	if err := need(op, "domain id", p.Domain.ID, "domain name", p.Domain.Name,
		"project name", p.Project.Name, "user name", p.User.Name, "admin role", p.AdminRole); err != nil {
		return false, err
	}
	var created bool
	err := s.inTx(ctx, op, func(tx *sql.Tx) error {
		var err error
		created, err = bootstrapTx{ctx: ctx, tx: tx}.run(p)
		return err
	})
	return created && err == nil, err
}

// bootstrapTx runs Bootstrap's steps in one transaction.
type bootstrapTx struct {
	ctx context.Context
	tx  *sql.Tx
}

// run makes the plan's objects and the grant and records the bootstrap
// done, unless it is recorded already; it reports whether it made the
// user.
func (b bootstrapTx) run(p identity.BootstrapPlan) (bool, error) {
	var done bool
	if err := b.tx.QueryRowContext(b.ctx, `SELECT EXISTS (SELECT 1 FROM identity_bootstrap)`).Scan(&done); err != nil {
		return false, fmt.Errorf("sqlite: bootstrap: %w", err)
	}
	if done {
		return false, nil
	}
	domainID, _, err := b.ensure("domain", `SELECT id FROM domains WHERE id = ?`, []any{p.Domain.ID},
		`INSERT INTO domains (id, name, enabled) VALUES (?, ?, ?)`, p.Domain.ID, p.Domain.Name, p.Domain.Enabled)
	if err != nil {
		return false, err
	}
	roleIDs := map[string]string{}
	for _, r := range p.Roles {
		if r.ID == "" || r.Name == "" {
			return false, errors.New("sqlite: bootstrap: a role needs an id and a name")
		}
		roleIDs[r.Name], _, err = b.ensure("role "+r.Name, `SELECT id FROM roles WHERE name = ?`, []any{r.Name},
			`INSERT INTO roles (id, name) VALUES (?, ?)`, r.ID, r.Name)
		if err != nil {
			return false, err
		}
	}
	roleID, ok := roleIDs[p.AdminRole]
	if !ok {
		return false, fmt.Errorf("sqlite: bootstrap: admin role %q is not among the plan's roles", p.AdminRole)
	}
	projectID, _, err := b.ensure("project", `SELECT id FROM projects WHERE domain_id = ? AND name = ?`, []any{domainID, p.Project.Name},
		`INSERT INTO projects (id, name, domain_id, description, enabled) VALUES (?, ?, ?, ?, ?)`,
		p.Project.ID, p.Project.Name, domainID, p.Project.Description, p.Project.Enabled)
	if err != nil {
		return false, err
	}
	userID, created, err := b.ensure("user", `SELECT id FROM users WHERE domain_id = ? AND name = ?`, []any{domainID, p.User.Name},
		`INSERT INTO users (id, name, domain_id, password_hash, enabled) VALUES (?, ?, ?, ?, ?)`,
		p.User.ID, p.User.Name, domainID, p.User.PasswordHash, p.User.Enabled)
	if err != nil {
		return false, err
	}
	if _, err := b.tx.ExecContext(b.ctx, `INSERT OR IGNORE INTO assignments (user_id, project_id, role_id) VALUES (?, ?, ?)`,
		userID, projectID, roleID); err != nil {
		return false, fmt.Errorf("sqlite: bootstrap: grant: %w", err)
	}
	if _, err := b.tx.ExecContext(b.ctx, `INSERT INTO identity_bootstrap (id, user_id, project_id, done_at) VALUES (1, ?, ?, ?)`,
		userID, projectID, time.Now().UnixMicro()); err != nil {
		return false, fmt.Errorf("sqlite: bootstrap: record: %w", err)
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
		return "", false, fmt.Errorf("sqlite: bootstrap: create %s: empty id", what)
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
	err := b.tx.QueryRowContext(b.ctx, lookup, args...).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("sqlite: bootstrap: find %s: %w", what, err)
	}
	return id, nil
}
