package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// The key pair hot path's statements. Parsing a statement cost more than
// running it (about 43% of a show's CPU went to SQLite's parser), so
// each is prepared once per Store: database/sql keeps one prepared handle
// per pooled connection and modernc keeps its sqlite3_stmt between runs.
var (
	// A get reads the versions its answer is kept at (getcache.go) in the
	// same statement, so from the same snapshot.
	sqlGet  = visibleCols(versionColumns+`, `+columns, `name = ?3`) + ` LIMIT 1`
	sqlList = visibleCols(listColumns, `name >= ?3`) + ` ORDER BY name LIMIT ?4`
)

const (
	// A create's checks in one statement: the owner's count (kept by
	// migration 0008's triggers), then whether the name is taken: the
	// owner's names; then, in the domain, the shared names (user scope)
	// or all names (domain scope).
	sqlCheckUser = `SELECT coalesce((SELECT n FROM key_pair_counts WHERE user_id = ?1), 0),
		EXISTS (SELECT 1 FROM key_pairs WHERE user_id = ?1 AND name = ?2) OR
		EXISTS (SELECT 1 FROM key_pairs WHERE ?3 <> '' AND domain_id = ?3 AND scope = 'domain' AND name = ?2)`
	sqlCheckDomain = `SELECT coalesce((SELECT n FROM key_pair_counts WHERE user_id = ?1), 0),
		EXISTS (SELECT 1 FROM key_pairs WHERE user_id = ?1 AND name = ?2) OR
		EXISTS (SELECT 1 FROM key_pairs WHERE ?3 <> '' AND domain_id = ?3 AND scope IN ('user', 'domain') AND name = ?2)`
	sqlInsert = `INSERT INTO key_pairs
		(uid, user_id, project_id, domain_id, name, type, scope, public_key, fingerprint,
		 algorithm, description, created_at, updated_at, escrow_ref, escrow_blob)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		RETURNING id`
	sqlDelete = `DELETE FROM key_pairs WHERE id = ? RETURNING escrow_blob IS NOT NULL`
	// The owner's count, kept by migration 0007's triggers.
	sqlCount = `SELECT coalesce((SELECT n FROM key_pair_counts WHERE user_id = ?), 0)`
)

// stmts holds the prepared statements: r* on the readers, w* on the
// writer (used inside its transactions through tx.StmtContext, which
// reuses the writer connection's handle).
type stmts struct {
	rGet, rList, rCount, rListVersions         *sql.Stmt
	wCheckUser, wCheckDomain, wInsert, wDelete *sql.Stmt
	// A batch's savepoints (groupcommit.go).
	wSavepoint, wRollbackTo, wRelease *sql.Stmt
}

// prepare prepares every statement of s.st.
func (s *Store) prepare(ctx context.Context) error {
	var err error
	p := func(db *sql.DB, q string) *sql.Stmt {
		if err != nil {
			return nil
		}
		var st *sql.Stmt
		if st, err = db.PrepareContext(ctx, q); err != nil {
			err = fmt.Errorf("sqlite: prepare %.40q: %w", q, err)
		}
		return st
	}
	s.st = stmts{
		rGet: p(s.r, sqlGet), rList: p(s.r, sqlList), rCount: p(s.r, sqlCount), rListVersions: p(s.r, sqlListVersions),
		wCheckUser: p(s.w, sqlCheckUser), wCheckDomain: p(s.w, sqlCheckDomain),
		wInsert: p(s.w, sqlInsert), wDelete: p(s.w, sqlDelete),
		wSavepoint: p(s.w, `SAVEPOINT kp`), wRollbackTo: p(s.w, `ROLLBACK TO kp`), wRelease: p(s.w, `RELEASE kp`),
	}
	if err != nil {
		s.closeStmts()
	}
	return err
}

// closeStmts closes the prepared statements that are open.
func (s *Store) closeStmts() error {
	var errs []error
	for _, st := range []*sql.Stmt{s.st.rGet, s.st.rList, s.st.rCount, s.st.rListVersions,
		s.st.wCheckUser, s.st.wCheckDomain, s.st.wInsert, s.st.wDelete,
		s.st.wSavepoint, s.st.wRollbackTo, s.st.wRelease} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	// The fields stay: a call after Close gets "statement is closed"
	// from the closed statement, where a nil one would panic.
	return errors.Join(errs...)
}
