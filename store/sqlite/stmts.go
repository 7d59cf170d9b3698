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

// A create's conditions: the owner's count (kept by migration 0008's
// triggers) under the quota, and the name not taken: not among the
// owner's names, nor, in the domain, among the shared names (user scope)
// or all names (domain scope). user, name and domain are the parameters
// that hold them.
func countOf(user string) string {
	return `coalesce((SELECT n FROM key_pair_counts WHERE user_id = ` + user + `), 0)`
}

func takenIn(scopes, user, name, domain string) string {
	return `(EXISTS (SELECT 1 FROM key_pairs WHERE user_id = ` + user + ` AND name = ` + name + `) OR
		EXISTS (SELECT 1 FROM key_pairs WHERE ` + domain + ` <> '' AND domain_id = ` + domain +
		` AND scope IN (` + scopes + `) AND name = ` + name + `))`
}

// The scopes whose names a new key pair's name must not take in its domain.
const (
	userScopes   = `'domain'`
	domainScopes = `'user', 'domain'`
)

// insertIf inserts a key pair (?1 to ?15 in insertColumns' order) when
// the count is under the quota ?16 and the name is free, returning its id;
// no row when it is refused, so that a create is one statement.
func insertIf(scopes string) string {
	return `INSERT INTO key_pairs (` + insertColumns + `)
		SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15
		WHERE ` + countOf("?2") + ` < ?16 AND NOT ` + takenIn(scopes, "?2", "?5", "?4") + `
		RETURNING id`
}

const insertColumns = `uid, user_id, project_id, domain_id, name, type, scope, public_key, fingerprint,
		 algorithm, description, created_at, updated_at, escrow_ref, escrow_blob`

var (
	// Why a create was refused (?1 the owner, ?2 the name, ?3 the domain):
	// the count, and whether the name is taken.
	sqlCheckUser    = `SELECT ` + countOf("?1") + `, ` + takenIn(userScopes, "?1", "?2", "?3")
	sqlCheckDomain  = `SELECT ` + countOf("?1") + `, ` + takenIn(domainScopes, "?1", "?2", "?3")
	sqlInsertUser   = insertIf(userScopes)
	sqlInsertDomain = insertIf(domainScopes)
)

const (
	sqlDelete = `DELETE FROM key_pairs WHERE id = ? RETURNING escrow_blob IS NOT NULL`
	// The owner's count, kept by migration 0007's triggers.
	sqlCount = `SELECT coalesce((SELECT n FROM key_pair_counts WHERE user_id = ?), 0)`
)

// stmts holds the prepared statements: r* on the readers, w* on the
// writer (used inside its transactions through tx.StmtContext, which
// reuses the writer connection's handle).
type stmts struct {
	rGet, rList, rCount, rListVersions                            *sql.Stmt
	wCheckUser, wCheckDomain, wInsertUser, wInsertDomain, wDelete *sql.Stmt
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
		wInsertUser: p(s.w, sqlInsertUser), wInsertDomain: p(s.w, sqlInsertDomain), wDelete: p(s.w, sqlDelete),
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
		s.st.wCheckUser, s.st.wCheckDomain, s.st.wInsertUser, s.st.wInsertDomain, s.st.wDelete,
		s.st.wSavepoint, s.st.wRollbackTo, s.st.wRelease} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	// The fields stay: a call after Close gets "statement is closed"
	// from the closed statement, where a nil one would panic.
	return errors.Join(errs...)
}
