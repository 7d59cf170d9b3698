package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/keyhaven/keyhaven/identity"
)

// Withdrawing access: every change that takes access away writes its
// access event in the transaction that makes the change, so no instance
// can see the change without the event or the other way round.

// recordAccess writes an access event of now, moving an older one of the
// same subject forward.
func recordAccess(ctx context.Context, db execer, kind identity.AccessKind, subject string) error {
	now := time.Now().UTC().Truncate(time.Microsecond)
	_, err := db.Exec(ctx, `INSERT INTO access_events (kind, subject, not_before) VALUES ($1, $2, $3)
		ON CONFLICT (kind, subject) DO UPDATE SET not_before = GREATEST(access_events.not_before, excluded.not_before)`,
		string(kind), subject, now.UnixMicro())
	if err != nil {
		return fmt.Errorf("postgres: record access event: %w", err)
	}
	return nil
}

// DeleteUser removes the user; its assignments and EC2 credentials go with
// it (ON DELETE CASCADE). Its key pairs stay, as Nova's do when Keystone
// deletes a user.
func (s *Store) DeleteUser(ctx context.Context, id string) error {
	const op = "delete user"
	if unstorable(id) {
		return notFound(op, fmt.Sprintf("user %q", id))
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM users WHERE id = $1`, id)
		if err != nil {
			return fmt.Errorf("postgres: %s: %w", op, err)
		}
		if tag.RowsAffected() == 0 {
			return notFound(op, fmt.Sprintf("user %q", id))
		}
		return recordAccess(ctx, tx, identity.AccessUser, id)
	})
}

// UpdateProject changes a project's name, description and enabled flag in
// one transaction, the row locked FOR UPDATE from the read to the write;
// the unique index decides a name conflict, so concurrent renames cannot
// both win.
func (s *Store) UpdateProject(ctx context.Context, id string, change func(*identity.Project) error) (*identity.Project, error) {
	const op = "update project"
	if unstorable(id) {
		return nil, notFound(op, "a project id PostgreSQL cannot hold")
	}
	var p *identity.Project
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		p, err = scanProject(tx.QueryRow(ctx, `SELECT `+projectColumns+` FROM projects WHERE id = $1 FOR UPDATE`, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return notFound(op, fmt.Sprintf("project %q", id))
		}
		if err != nil {
			return fmt.Errorf("postgres: %s: %w", op, err)
		}
		was, domainID := p.Enabled, p.DomainID
		if err := change(p); err != nil {
			return err
		}
		p.ID, p.DomainID = id, domainID
		if p.Name == "" {
			return errors.New("postgres: update project: a project needs a name")
		}
		_, err = tx.Exec(ctx, `UPDATE projects SET name = $1, description = $2, enabled = $3 WHERE id = $4`,
			p.Name, p.Description, p.Enabled, id)
		if isCode(err, codeUniqueViolation) {
			return conflict(op, fmt.Sprintf("name %q taken in the project's domain", p.Name))
		}
		if err != nil {
			return fmt.Errorf("postgres: %s: %w", op, err)
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

// UpdateDomain changes a domain's name and enabled flag in one
// transaction, the row locked FOR UPDATE from the read to the write.
func (s *Store) UpdateDomain(ctx context.Context, id string, change func(*identity.Domain) error) (*identity.Domain, error) {
	const op = "update domain"
	if unstorable(id) {
		return nil, notFound(op, "a domain id PostgreSQL cannot hold")
	}
	var d *identity.Domain
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		d, err = scanDomain(tx.QueryRow(ctx, `SELECT `+domainColumns+` FROM domains WHERE id = $1 FOR UPDATE`, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return notFound(op, fmt.Sprintf("domain %q", id))
		}
		if err != nil {
			return fmt.Errorf("postgres: %s: %w", op, err)
		}
		was := d.Enabled
		if err := change(d); err != nil {
			return err
		}
		d.ID = id
		if d.Name == "" {
			return errors.New("postgres: update domain: a domain needs a name")
		}
		_, err = tx.Exec(ctx, `UPDATE domains SET name = $1, enabled = $2 WHERE id = $3`, d.Name, d.Enabled, id)
		if isCode(err, codeUniqueViolation) {
			return conflict(op, fmt.Sprintf("name %q", d.Name))
		}
		if err != nil {
			return fmt.Errorf("postgres: %s: %w", op, err)
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
// repeatable-read transaction, so the parts agree with each other.
func (s *Store) Access(ctx context.Context, since time.Time) (*identity.AccessSnapshot, error) {
	const op = "read access"
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, &txError{"begin", err}
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	ids := func(query string) ([]string, error) {
		rows, err := tx.Query(ctx, query)
		if err != nil {
			return nil, fmt.Errorf("postgres: %s: %w", op, err)
		}
		out, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return nil, fmt.Errorf("postgres: %s: %w", op, err)
		}
		return out, nil
	}
	snap := &identity.AccessSnapshot{}
	if snap.DisabledDomains, err = ids(`SELECT id FROM domains WHERE NOT enabled`); err != nil {
		return nil, err
	}
	if snap.DisabledUsers, err = ids(`SELECT id FROM users WHERE enabled = FALSE
		UNION SELECT u.id FROM users u JOIN domains d ON d.id = u.domain_id WHERE NOT d.enabled`); err != nil {
		return nil, err
	}
	if snap.DisabledProjects, err = ids(`SELECT id FROM projects WHERE enabled = FALSE
		UNION SELECT p.id FROM projects p JOIN domains d ON d.id = p.domain_id WHERE NOT d.enabled`); err != nil {
		return nil, err
	}
	rows, err := tx.Query(ctx, `SELECT kind, subject, not_before FROM access_events WHERE not_before > $1
		ORDER BY not_before, kind, subject`, since.UnixMicro())
	if err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", op, err)
	}
	snap.Events, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (identity.AccessEvent, error) {
		var e identity.AccessEvent
		var kind string
		var micros int64
		err := r.Scan(&kind, &e.Subject, &micros)
		e.Kind, e.NotBefore = identity.AccessKind(kind), time.UnixMicro(micros).UTC()
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", op, err)
	}
	return snap, nil
}

// PruneAccessEvents deletes the access events older than before.
func (s *Store) PruneAccessEvents(ctx context.Context, before time.Time) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM access_events WHERE not_before < $1`, before.UnixMicro()); err != nil {
		return fmt.Errorf("postgres: prune access events: %w", err)
	}
	return nil
}
