package storebench

import "database/sql"

// openRawSQLite opens the database file at path read-only for EXPLAIN.
func openRawSQLite(path string) (*sql.DB, error) {
	return sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=query_only(1)")
}
