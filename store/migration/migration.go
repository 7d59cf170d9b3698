// Package migration is the one migration tool of every store engine: each
// engine embeds its versioned SQL files (NNNN_description.sql), loads them
// here, and applies the ones its database has not recorded in its
// schema_migrations table, in its own transactional way.
package migration

import (
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strconv"
)

// Migration is one versioned schema change.
type Migration struct {
	// Version orders migrations; it is the file name's number.
	Version int
	// Name is the file name, e.g. 0001_init.sql.
	Name string
	// SQL is the file's statements.
	SQL string
}

// fileName is the form of a migration file: a zero-padded version, an
// underscore, a short description.
var fileName = regexp.MustCompile(`^([0-9]{4})_[a-z0-9_]+\.sql$`)

// Load returns the migrations in directory dir of fsys in version order,
// failing on a badly named file or a repeated version.
func Load(fsys fs.FS, dir string) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var ms []Migration
	seen := map[int]string{}
	for _, e := range entries {
		m := fileName.FindStringSubmatch(e.Name())
		if m == nil {
			return nil, fmt.Errorf("migration file %q is not named NNNN_description.sql", e.Name())
		}
		v, _ := strconv.Atoi(m[1])
		if prev, dup := seen[v]; dup {
			return nil, fmt.Errorf("migrations %s and %s share version %d", prev, e.Name(), v)
		}
		seen[v] = e.Name()
		body, err := fs.ReadFile(fsys, dir+"/"+e.Name())
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", e.Name(), err)
		}
		ms = append(ms, Migration{Version: v, Name: e.Name(), SQL: string(body)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	return ms, nil
}

// Pending returns the migrations newer than applied (the database's
// highest recorded version), refusing a database newer than this program.
func Pending(ms []Migration, applied int) ([]Migration, error) {
	latest := 0
	if len(ms) > 0 {
		latest = ms[len(ms)-1].Version
	}
	if applied > latest {
		return nil, fmt.Errorf("the database schema is version %d, newer than this keyhaven knows (%d): upgrade keyhaven", applied, latest)
	}
	var out []Migration
	for _, m := range ms {
		if m.Version > applied {
			out = append(out, m)
		}
	}
	return out, nil
}
