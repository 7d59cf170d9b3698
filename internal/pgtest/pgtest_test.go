package pgtest

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
)

// TestNewDatabase: two databases of one server are distinct, empty and
// usable.
func TestNewDatabase(t *testing.T) {
	s := Start(t)
	if Start(t) != s {
		t.Fatal("Start returned two servers in one test binary")
	}
	a, b := NewDatabase(t), s.NewDatabase(t)
	if a == b {
		t.Fatalf("NewDatabase returned %q twice", a)
	}
	ctx := context.Background()
	for _, dsn := range []string{a, b} {
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Fatalf("connect %s: %v", dsn, err)
		}
		var n int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE schemaname = 'public'`).Scan(&n); err != nil || n != 0 {
			t.Errorf("%s: %d tables, %v; want an empty database", dsn, n, err)
		}
		if _, err := conn.Exec(ctx, `CREATE TABLE t (x int)`); err != nil {
			t.Errorf("%s: create table: %v", dsn, err)
		}
		conn.Close(ctx)
	}
}
