package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// RecountKeyPairs sets every owner's key pair counter (key_pair_counts,
// which the quota check and CountKeyPairs read) to the number of rows the
// owner has, and returns how many counters were wrong. Triggers keep the
// counters right through every insert and delete; a restore that loads
// the rows and the counters separately (pg_restore --data-only into a
// migrated schema, where the triggers count the rows again) is what can
// leave them wrong, so keyhaven restore runs this. Writers wait meanwhile.
func (s *Store) RecountKeyPairs(ctx context.Context) (int64, error) {
	var fixed int64
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `LOCK TABLE key_pairs IN SHARE ROW EXCLUSIVE MODE`); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `INSERT INTO key_pair_counts (user_id, n)
			SELECT user_id, count(*) FROM key_pairs GROUP BY user_id
			ON CONFLICT (user_id) DO UPDATE SET n = excluded.n WHERE key_pair_counts.n <> excluded.n`)
		if err != nil {
			return err
		}
		fixed += tag.RowsAffected()
		tag, err = tx.Exec(ctx, `UPDATE key_pair_counts c SET n = 0
			WHERE n <> 0 AND NOT EXISTS (SELECT 1 FROM key_pairs k WHERE k.user_id = c.user_id)`)
		fixed += tag.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("postgres: recount key pairs: %w", err)
	}
	return fixed, nil
}
