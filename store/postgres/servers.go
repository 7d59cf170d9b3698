package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/keyhaven/keyhaven/keypair"
	"github.com/keyhaven/keyhaven/task"
)

// Store implements the association domain's storage interface.
var _ task.Store = (*Store)(nil)

// serverColumns lists servers columns in the order scanServer reads them.
const serverColumns = `id, project_id, name, address, port, login_user, host_keys, sshd_config,
	keypair_name, keypair_id, public_key, password_disabled, created_at, updated_at`

// scanServer reads one row selected with serverColumns.
func scanServer(r rowScanner) (*task.Server, error) {
	var s task.Server
	var hostKeys string
	var created, updated int64
	if err := r.Scan(&s.ID, &s.ProjectID, &s.Name, &s.Address, &s.Port, &s.User, &hostKeys, &s.SSHDConfig,
		&s.KeyPairName, &s.KeyPairID, &s.PublicKey, &s.PasswordDisabled, &created, &updated); err != nil {
		return nil, err
	}
	s.HostKeys = strings.Split(hostKeys, "\n")
	s.CreatedAt, s.UpdatedAt = optTime(created), optTime(updated)
	return &s, nil
}

// optMicros returns t as microseconds since the Unix epoch, and 0 for the
// zero time ("not yet").
func optMicros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UTC().UnixMicro()
}

// optTime is the inverse of optMicros: 0 is the zero time.
func optTime(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return fromMicros(v)
}

// serverNotFound reports that the inventory has no server id.
func serverNotFound(id string) *keypair.Error {
	return keypair.Errorf(keypair.ENOTFOUND, "server %s not found", id)
}

// PutServer adds sv to the inventory, or replaces the entry with its ID,
// keeping the replaced entry's association fields and CreatedAt; it sets
// sv's CreatedAt, UpdatedAt and association fields to what is stored.
// EINVALID when sv.Check refuses it.
func (s *Store) PutServer(ctx context.Context, sv *task.Server) error {
	if err := sv.Check(); err != nil {
		return err
	}
	now := time.Now().UTC().UnixMicro()
	var created, updated int64
	err := s.pool.QueryRow(ctx, `INSERT INTO servers (id, project_id, name, address, port, login_user,
		host_keys, sshd_config, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)
		ON CONFLICT (id) DO UPDATE SET project_id = excluded.project_id, name = excluded.name,
			address = excluded.address, port = excluded.port, login_user = excluded.login_user,
			host_keys = excluded.host_keys, sshd_config = excluded.sshd_config, updated_at = excluded.updated_at
		RETURNING keypair_name, keypair_id, public_key, password_disabled, created_at, updated_at`,
		sv.ID, sv.ProjectID, sv.Name, sv.Address, sv.Port, sv.User, strings.Join(sv.HostKeys, "\n"),
		sv.SSHDConfig, now).Scan(&sv.KeyPairName, &sv.KeyPairID, &sv.PublicKey, &sv.PasswordDisabled,
		&created, &updated)
	if err != nil {
		return fmt.Errorf("postgres: put server: %w", err)
	}
	sv.CreatedAt, sv.UpdatedAt = optTime(created), optTime(updated)
	return nil
}

// GetServer returns the server with id, or ENOTFOUND.
func (s *Store) GetServer(ctx context.Context, id string) (*task.Server, error) {
	if unstorable(id) {
		return nil, serverNotFound(id)
	}
	sv, err := scanServer(s.pool.QueryRow(ctx, `SELECT `+serverColumns+` FROM servers WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, serverNotFound(id)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: get server: %w", err)
	}
	return sv, nil
}

// ListServers returns the inventory ordered by ID, of one project when
// projectID is not empty.
func (s *Store) ListServers(ctx context.Context, projectID string) ([]*task.Server, error) {
	out := []*task.Server{}
	if unstorable(projectID) {
		return out, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT `+serverColumns+` FROM servers
		WHERE $1::text = '' OR project_id = $1 ORDER BY id`, projectID)
	if err != nil {
		return nil, fmt.Errorf("postgres: list servers: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		sv, err := scanServer(rows)
		if err != nil {
			return nil, fmt.Errorf("postgres: list servers: %w", err)
		}
		out = append(out, sv)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: list servers: %w", err)
	}
	return out, nil
}

// RemoveServer deletes the server with id, or fails with ENOTFOUND, or
// with ECONFLICT while one of its tasks is READY or RUNNING. It locks the
// server's row first, as CreateTask does, so a task cannot be created for
// it between the check and the delete.
func (s *Store) RemoveServer(ctx context.Context, id string) error {
	if unstorable(id) {
		return serverNotFound(id)
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var one int
		err := tx.QueryRow(ctx, `SELECT 1 FROM servers WHERE id = $1 FOR UPDATE`, id).Scan(&one)
		if errors.Is(err, pgx.ErrNoRows) {
			return serverNotFound(id)
		}
		if err != nil {
			return err
		}
		var busy int
		err = tx.QueryRow(ctx, `SELECT count(*) FROM tasks
			WHERE server_id = $1 AND phase IN ('READY', 'RUNNING')`, id).Scan(&busy)
		if err != nil {
			return err
		}
		if busy > 0 {
			return keypair.Errorf(keypair.ECONFLICT, "server %s has %d unfinished task(s); wait until they end", id, busy)
		}
		_, err = tx.Exec(ctx, `DELETE FROM servers WHERE id = $1`, id)
		return err
	})
	if err != nil {
		return wrapKP("remove server", err)
	}
	return nil
}
