package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/keyhaven/keyhaven/identity"
)

// Withdrawing access: every change that takes access away writes its
// access event in the transaction that makes the change, so no instance
// can see the change without the event or the other way round.

// execer is what runs a statement: the write pool or a transaction.
type execer interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}

// recordAccess writes an access event of now, moving an older one of the
// same subject forward.
func recordAccess(ctx context.Context, db execer, kind identity.AccessKind, subject string) error {
	now := time.Now().UTC().Truncate(time.Microsecond)
	_, err := db.ExecContext(ctx, `INSERT INTO access_events (kind, subject, not_before) VALUES (?, ?, ?)
		ON CONFLICT (kind, subject) DO UPDATE SET not_before = max(not_before, excluded.not_before)`,
		string(kind), subject, now.UnixMicro())
	if err != nil {
		return fmt.Errorf("sqlite: record access event: %w", err)
	}
	return nil
}

// inTx runs fn in one write transaction.
func (s *Store) inTx(ctx context.Context, op string, fn func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: %s: begin: %w", op, err)
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: %s: commit: %w", op, err)
	}
	return nil
}

// DeleteUser removes the user; its assignments and EC2 credentials go with
// it (ON DELETE CASCADE). Its key pairs stay, as Nova's do when Keystone
// deletes a user.
func (s *Store) DeleteUser(ctx context.Context, id string) error {
	const op = "delete user"
	return s.inTx(ctx, op, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM users WHERE id = ?`, id)
		if err != nil {
			return fmt.Errorf("sqlite: %s: %w", op, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("sqlite: %s: %w", op, err)
		} else if n == 0 {
			return notFound(op, fmt.Sprintf("user %q", id))
		}
		return recordAccess(ctx, tx, identity.AccessUser, id)
	})
}

// UpdateProject changes a project's name, description and enabled flag in
// one write transaction.
func (s *Store) UpdateProject(ctx context.Context, id string, change func(*identity.Project) error) (*identity.Project, error) {
	const op = "update project"
	var p *identity.Project
	err := s.inTx(ctx, op, func(tx *sql.Tx) error {
		var err error
		p, err = scanProject(tx.QueryRowContext(ctx, `SELECT `+projectColumns+` FROM projects WHERE id = ?`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return notFound(op, fmt.Sprintf("project %q", id))
		}
		if err != nil {
			return fmt.Errorf("sqlite: %s: %w", op, err)
		}
		was, domainID := p.Enabled, p.DomainID
		if err := change(p); err != nil {
			return err
		}
		p.ID, p.DomainID = id, domainID
		if p.Name == "" {
			return errors.New("sqlite: update project: a project needs a name")
		}
		var taken bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM projects WHERE domain_id = ? AND name = ? AND id <> ?)`,
			domainID, p.Name, id).Scan(&taken); err != nil {
			return fmt.Errorf("sqlite: %s: %w", op, err)
		}
		if taken {
			return conflict(op, fmt.Sprintf("name %q in domain %q", p.Name, domainID))
		}
		if _, err := tx.ExecContext(ctx, `UPDATE projects SET name = ?, description = ?, enabled = ? WHERE id = ?`,
			p.Name, p.Description, p.Enabled, id); err != nil {
			return fmt.Errorf("sqlite: %s: %w", op, err)
		}
		if was && !p.Enabled {
			return recordAccess(ctx, tx, identity.AccessProject, id)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// UpdateDomain changes a domain's name and enabled flag in one write
// transaction.
func (s *Store) UpdateDomain(ctx context.Context, id string, change func(*identity.Domain) error) (*identity.Domain, error) {
	const op = "update domain"
	var d *identity.Domain
	err := s.inTx(ctx, op, func(tx *sql.Tx) error {
		var err error
		d, err = scanDomain(tx.QueryRowContext(ctx, `SELECT `+domainColumns+` FROM domains WHERE id = ?`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return notFound(op, fmt.Sprintf("domain %q", id))
		}
		if err != nil {
			return fmt.Errorf("sqlite: %s: %w", op, err)
		}
		was := d.Enabled
		if err := change(d); err != nil {
			return err
		}
		d.ID = id
		if d.Name == "" {
			return errors.New("sqlite: update domain: a domain needs a name")
		}
		var taken bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM domains WHERE name = ? AND id <> ?)`,
			d.Name, id).Scan(&taken); err != nil {
			return fmt.Errorf("sqlite: %s: %w", op, err)
		}
		if taken {
			return conflict(op, fmt.Sprintf("name %q", d.Name))
		}
		if _, err := tx.ExecContext(ctx, `UPDATE domains SET name = ?, enabled = ? WHERE id = ?`, d.Name, d.Enabled, id); err != nil {
			return fmt.Errorf("sqlite: %s: %w", op, err)
		}
		if was && !d.Enabled {
			return recordAccess(ctx, tx, identity.AccessDomain, id)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// Access reads what is disabled and the access events after since in one
// read transaction, so the parts agree with each other.
func (s *Store) Access(ctx context.Context, since time.Time) (*identity.AccessSnapshot, error) {
	const op = "read access"
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("sqlite: %s: begin: %w", op, err)
	}
	defer tx.Rollback()
	ids := func(query string) ([]string, error) {
		rows, err := tx.QueryContext(ctx, query)
		if err != nil {
			return nil, fmt.Errorf("sqlite: %s: %w", op, err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return nil, fmt.Errorf("sqlite: %s: %w", op, err)
			}
			out = append(out, id)
		}
		return out, rows.Err()
	}
	snap := &identity.AccessSnapshot{}
	if snap.DisabledDomains, err = ids(`SELECT id FROM domains WHERE enabled = 0`); err != nil {
		return nil, err
	}
	if snap.DisabledUsers, err = ids(`SELECT id FROM users WHERE enabled = 0
		UNION SELECT u.id FROM users u JOIN domains d ON d.id = u.domain_id WHERE d.enabled = 0`); err != nil {
		return nil, err
	}
	if snap.DisabledProjects, err = ids(`SELECT id FROM projects WHERE enabled = 0
		UNION SELECT p.id FROM projects p JOIN domains d ON d.id = p.domain_id WHERE d.enabled = 0`); err != nil {
		return nil, err
	}
	rows, err := tx.QueryContext(ctx, `SELECT kind, subject, not_before FROM access_events WHERE not_before > ?
		ORDER BY not_before, kind, subject`, since.UnixMicro())
	if err != nil {
		return nil, fmt.Errorf("sqlite: %s: %w", op, err)
	}
	defer rows.Close()
	for rows.Next() {
		var e identity.AccessEvent
		var micros int64
		if err := rows.Scan(&e.Kind, &e.Subject, &micros); err != nil {
			return nil, fmt.Errorf("sqlite: %s: %w", op, err)
		}
		e.NotBefore = fromMicros(micros)
		snap.Events = append(snap.Events, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: %s: %w", op, err)
	}
	return snap, nil
}

// PruneAccessEvents deletes the access events older than before.
func (s *Store) PruneAccessEvents(ctx context.Context, before time.Time) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM access_events WHERE not_before < ?`, before.UnixMicro()); err != nil {
		return fmt.Errorf("sqlite: prune access events: %w", err)
	}
	return nil
}
