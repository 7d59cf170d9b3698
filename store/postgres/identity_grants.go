package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/keyhaven/keyhaven/identity"
)

// This file holds the identity.Store methods that grant or withdraw
// access: roles and their assignments, EC2 credentials and token
// revocations.

// CreateRole inserts r; identity.ErrConflict when its id or name is taken.
func (s *Store) CreateRole(ctx context.Context, r *identity.Role) error {
	const op = "create role"
	if r == nil {
		return errors.New("postgres: create role: nil role")
	}
	if err := need(op, "id", r.ID, "name", r.Name); err != nil {
		return err
	}
	return insert(ctx, s.pool, op, fmt.Sprintf("id %q or name %q", r.ID, r.Name),
		`INSERT INTO roles (id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING`, r.ID, r.Name)
}

// scanRole reads one row selected as id, name.
func scanRole(r rowScanner) (*identity.Role, error) {
	var role identity.Role
	if err := r.Scan(&role.ID, &role.Name); err != nil {
		return nil, err
	}
	return &role, nil
}

// GetRole returns the role with that id, or identity.ErrNotFound.
func (s *Store) GetRole(ctx context.Context, id string) (*identity.Role, error) {
	return getOne(ctx, s, "get role", fmt.Sprintf("id %q", id), scanRole,
		`SELECT id, name FROM roles WHERE id = $1`, id)
}

// GetRoleByName returns the role called name, or identity.ErrNotFound.
func (s *Store) GetRoleByName(ctx context.Context, name string) (*identity.Role, error) {
	return getOne(ctx, s, "get role", fmt.Sprintf("name %q", name), scanRole,
		`SELECT id, name FROM roles WHERE name = $1`, name)
}

// ListRoles returns every role in byte order of name.
func (s *Store) ListRoles(ctx context.Context) ([]*identity.Role, error) {
	return list(ctx, s, "list roles", scanRole, `SELECT id, name FROM roles ORDER BY name`)
}

// AddAssignment grants a.RoleID to a.UserID on a.ProjectID. Granting it
// again is not an error; identity.ErrNotFound when the user, project or
// role does not exist.
func (s *Store) AddAssignment(ctx context.Context, a identity.Assignment) error {
	const op = "add assignment"
	refs := []ref{{"users", "user", a.UserID}, {"projects", "project", a.ProjectID}, {"roles", "role", a.RoleID}}
	return s.writeChecked(ctx, op, refs, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO assignments (user_id, project_id, role_id)
			VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, a.UserID, a.ProjectID, a.RoleID)
		if isCode(err, codeForeignKeyViolation) {
			return notFound(op, "a referenced object does not exist")
		}
		if err != nil {
			return fmt.Errorf("postgres: %s: %w", op, err)
		}
		return nil
	})
}

// RemoveAssignment withdraws the grant and records the access event that
// ends the user's older tokens on the project, or fails with
// identity.ErrNotFound when there is no such grant.
func (s *Store) RemoveAssignment(ctx context.Context, a identity.Assignment) error {
	const op = "remove assignment"
	if unstorable(a.UserID, a.ProjectID, a.RoleID) {
		return notFound(op, fmt.Sprintf("role %q of user %q on project %q", a.RoleID, a.UserID, a.ProjectID))
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM assignments
		WHERE user_id = $1 AND project_id = $2 AND role_id = $3`, a.UserID, a.ProjectID, a.RoleID)
		if err != nil {
			return fmt.Errorf("postgres: %s: %w", op, err)
		}
		if tag.RowsAffected() == 0 {
			return notFound(op, fmt.Sprintf("role %q of user %q on project %q", a.RoleID, a.UserID, a.ProjectID))
		}
		return recordAccess(ctx, tx, identity.AccessGrant, identity.GrantSubject(a.UserID, a.ProjectID))
	})
}

// scanAssignment reads one row selected as user_id, project_id, role_id.
func scanAssignment(r rowScanner) (identity.Assignment, error) {
	var a identity.Assignment
	err := r.Scan(&a.UserID, &a.ProjectID, &a.RoleID)
	return a, err
}

// ListAssignments returns the grants matching f.UserID and f.ProjectID
// (empty fields match all), ordered by user, project and role id.
func (s *Store) ListAssignments(ctx context.Context, f identity.Filter) ([]identity.Assignment, error) {
	w, args := where("user_id", f.UserID, "project_id", f.ProjectID)
	return list(ctx, s, "list assignments", scanAssignment,
		`SELECT user_id, project_id, role_id FROM assignments`+w+
			` ORDER BY user_id, project_id, role_id`, args...)
}

// RoleNames returns the names of the user's roles on the project in byte
// order; none (and no error) when the user, project or grants do not exist.
func (s *Store) RoleNames(ctx context.Context, userID, projectID string) ([]string, error) {
	return list(ctx, s, "role names", func(r rowScanner) (string, error) {
		var name string
		err := r.Scan(&name)
		return name, err
	}, `SELECT r.name FROM assignments a JOIN roles r ON r.id = a.role_id
		WHERE a.user_id = $1 AND a.project_id = $2 ORDER BY r.name`, userID, projectID)
}

// CreateEC2Credential inserts c: identity.ErrNotFound when its user or
// project does not exist, identity.ErrConflict when its access key is
// taken. A zero c.CreatedAt is set to now; either way c.CreatedAt is left
// as stored, in UTC to the microsecond.
func (s *Store) CreateEC2Credential(ctx context.Context, c *identity.EC2Credential) error {
	const op = "create ec2 credential"
	if c == nil {
		return errors.New("postgres: create ec2 credential: nil credential")
	}
	if err := need(op, "access key", c.Access, "user id", c.UserID, "project id", c.ProjectID); err != nil {
		return err
	}
	if len(c.SealedSecret) == 0 {
		return errors.New("postgres: create ec2 credential: empty sealed secret")
	}
	created := c.CreatedAt
	if created.IsZero() {
		created = time.Now()
	}
	created = fromMicros(created.UnixMicro())
	refs := []ref{{"users", "user", c.UserID}, {"projects", "project", c.ProjectID}}
	err := s.writeChecked(ctx, op, refs, func(tx pgx.Tx) error {
		// The access key is a public id, but it still stays out of errors.
		return insert(ctx, tx, op, "access key taken",
			`INSERT INTO ec2_credentials (access, sealed_secret, user_id, project_id, created_at)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
			c.Access, c.SealedSecret, c.UserID, c.ProjectID, created.UnixMicro())
	})
	if err != nil {
		return err
	}
	c.CreatedAt = created
	return nil
}

// ec2Columns lists ec2_credentials columns in the order scanEC2 reads them.
const ec2Columns = `access, sealed_secret, user_id, project_id, created_at`

// scanEC2 reads one row selected with ec2Columns.
func scanEC2(r rowScanner) (*identity.EC2Credential, error) {
	var c identity.EC2Credential
	var micros int64
	if err := r.Scan(&c.Access, &c.SealedSecret, &c.UserID, &c.ProjectID, &micros); err != nil {
		return nil, err
	}
	c.CreatedAt = fromMicros(micros)
	return &c, nil
}

// GetEC2Credential returns the credential with that access key, or
// identity.ErrNotFound.
func (s *Store) GetEC2Credential(ctx context.Context, access string) (*identity.EC2Credential, error) {
	return getOne(ctx, s, "get ec2 credential", "no such access key", scanEC2,
		`SELECT `+ec2Columns+` FROM ec2_credentials WHERE access = $1`, access)
}

// ListEC2Credentials returns the user's credentials, oldest first, those
// created in the same microsecond in byte order of access key.
func (s *Store) ListEC2Credentials(ctx context.Context, userID string) ([]*identity.EC2Credential, error) {
	return list(ctx, s, "list ec2 credentials", scanEC2,
		`SELECT `+ec2Columns+` FROM ec2_credentials WHERE user_id = $1 ORDER BY created_at, access`, userID)
}

// DeleteEC2Credential removes the user's credential with that access key,
// or fails with identity.ErrNotFound when the user has no such credential
// (even when another user has).
func (s *Store) DeleteEC2Credential(ctx context.Context, userID, access string) error {
	const op = "delete ec2 credential"
	if unstorable(userID, access) {
		return notFound(op, fmt.Sprintf("no such access key for user %q", userID))
	}
	tag, err := s.pool.Exec(ctx, `DELETE FROM ec2_credentials WHERE user_id = $1 AND access = $2`, userID, access)
	if err != nil {
		return fmt.Errorf("postgres: %s: %w", op, err)
	}
	if tag.RowsAffected() == 0 {
		return notFound(op, fmt.Sprintf("no such access key for user %q", userID))
	}
	return nil
}

// Revoke records r. Revoking an audit id again is not an error; the later
// of the two expiry times is kept.
func (s *Store) Revoke(ctx context.Context, r identity.Revocation) error {
	if err := need("revoke", "audit id", r.AuditID); err != nil {
		return err
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO revocations (audit_id, expires_at) VALUES ($1, $2)
		ON CONFLICT (audit_id) DO UPDATE SET expires_at = greatest(revocations.expires_at, excluded.expires_at)`,
		r.AuditID, r.ExpiresAt.UnixMicro())
	if err != nil {
		return fmt.Errorf("postgres: revoke: %w", err)
	}
	return nil
}

// Revocations returns every revocation that expires after now, soonest
// expiry first, with ExpiresAt in UTC to the microsecond.
func (s *Store) Revocations(ctx context.Context, now time.Time) ([]identity.Revocation, error) {
	return list(ctx, s, "list revocations", func(r rowScanner) (identity.Revocation, error) {
		var rev identity.Revocation
		var micros int64
		err := r.Scan(&rev.AuditID, &micros)
		rev.ExpiresAt = fromMicros(micros)
		return rev, err
	}, `SELECT audit_id, expires_at FROM revocations WHERE expires_at > $1
		ORDER BY expires_at, audit_id`, now.UnixMicro())
}

// PruneRevocations deletes the revocations that have expired at now: those
// Revocations(now) would not return.
func (s *Store) PruneRevocations(ctx context.Context, now time.Time) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM revocations WHERE expires_at <= $1`, now.UnixMicro()); err != nil {
		return fmt.Errorf("postgres: prune revocations: %w", err)
	}
	return nil
}
