package sqlite

import (
	"path/filepath"
	"sync"
)

// POSIX record locks, which SQLite's unix VFS takes on a database and its
// -shm file, belong to the process: closing any handle of a file drops
// every lock the process holds on it, SQLite's included (SQLite keeps its
// own table of open files for that reason). keyhaven's own handles on
// those files, checkHeader's read of a database's first bytes and the
// WAL stamps' -shm handle, must therefore never be closed while a Store of
// this process has the database open. openFiles is that table: one entry
// per database, counting its Stores and holding the one -shm handle they
// share. It is the one process-wide value of the package, because the
// locks it protects are process-wide.
type openFiles struct {
	mu sync.Mutex
	m  map[string]*openFile
}

// openFile is one database the process's Stores have open.
type openFile struct {
	stores int
	stamps *walStamps // nil until opened (stampsFor)
}

// processFiles are the databases this process's Stores have open.
var processFiles = openFiles{m: map[string]*openFile{}}

// acquire counts a Store more on the database at path (realPath's). When
// no other Store of the process has it open, first runs, under the table's
// lock, so that no other Store opens connections to it meanwhile: first
// may open and close handles of the file.
func (o *openFiles) acquire(path string, first func() error) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if f, ok := o.m[path]; ok {
		f.stores++
		return nil
	}
	if err := first(); err != nil {
		return err
	}
	o.m[path] = &openFile{stores: 1}
	return nil
}

// stampsFor returns the WAL stamps of the database at path, which a Store
// has acquired and whose connections have made its -shm file.
func (o *openFiles) stampsFor(path string) *walStamps {
	o.mu.Lock()
	defer o.mu.Unlock()
	f := o.m[path]
	if f.stamps == nil {
		f.stamps = openWALStamps(path)
	}
	return f.stamps
}

// release counts a Store less on the database at path, once that Store has
// closed its connections, and closes the -shm handle after the last one.
func (o *openFiles) release(path string) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	f := o.m[path]
	if f.stores--; f.stores > 0 {
		return nil
	}
	delete(o.m, path)
	return f.stamps.close()
}

// realPath is abs with its symbolic links resolved, as SQLite resolves them
// to name the -wal and -shm files; a database not made yet resolves its
// directory.
func realPath(abs string) string {
	if p, err := filepath.EvalSymlinks(abs); err == nil {
		return p
	}
	if dir, err := filepath.EvalSymlinks(filepath.Dir(abs)); err == nil {
		return filepath.Join(dir, filepath.Base(abs))
	}
	return abs
}
