package sqlite

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestCheckpointsBesideTheWriter: writes far fewer pages than the writer's
// own automatic checkpoint waits for still reach the database file, copied
// there by the checkpointer, while the store keeps taking writes.
func TestCheckpointsBesideTheWriter(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.db")
	s := openTest(t, path, Options{})
	size := func() int64 {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	before := size()
	deadline := time.Now().Add(20 * time.Second)
	for i := 0; size() == before; i++ {
		if time.Now().After(deadline) {
			t.Fatalf("after %d creates the database file is still %d bytes: nothing was checkpointed", i, before)
		}
		if i < 300 { // a few hundred pages, far below checkpointBackstop
			mustCreateKP(t, s, testKP("alice", fmt.Sprintf("k-%04d", i)))
		} else {
			time.Sleep(10 * time.Millisecond)
		}
	}
	var busy, log, copied int
	if err := s.w.QueryRow(`PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &log, &copied); err != nil {
		t.Fatal(err)
	}
	if log > checkpointBackstop {
		t.Errorf("the WAL holds %d frames, past the backstop of %d", log, checkpointBackstop)
	}
}
