package sqlite

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/keypair"
)

// queued returns how many writes wait for the next batch.
func (s *Store) queued() int {
	s.gc.mu.Lock()
	defer s.gc.mu.Unlock()
	return len(s.gc.queue)
}

// heldBatch holds the writer connection so that a first write starts a
// batch that cannot begin, queues the writes of start (each on its own
// goroutine, in order) behind it, calls queued, then lets go: the queued
// writes then run as one batch. It returns each write's error, first's last, and the
// sizes of the batches committed.
func heldBatch(t *testing.T, s *Store, first func() error, start []func() error, queued func()) ([]error, []int) {
	t.Helper()
	var mu sync.Mutex
	var sizes []int
	s.SetBatchObserver(func(n int) { mu.Lock(); sizes = append(sizes, n); mu.Unlock() })
	defer s.SetBatchObserver(nil)
	conn, err := s.w.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	// Let go on a failure too: Close waits for the queued writes, which
	// wait for this connection.
	defer conn.Close()
	errs := make([]error, len(start)+1)
	var wg sync.WaitGroup
	wg.Go(func() { errs[len(start)] = first() })
	waitFor(t, func() bool { s.gc.mu.Lock(); defer s.gc.mu.Unlock(); return s.gc.taken == 1 })
	for i, fn := range start {
		wg.Go(func() { errs[i] = fn() })
		waitFor(t, func() bool { return s.queued() == i+1 }) // keeps their order
	}
	queued()
	conn.Close()
	wg.Wait()
	return errs, sizes
}

// waitFor polls cond until it holds, failing after 10 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 10 s")
		}
	}
}

// TestGroupCommitFailsAlone: writes queued behind a commit in flight run
// as one batch, in which a duplicate name, a create over quota, the
// delete of a key pair already gone and a request given up on before its
// turn fail alone, and the others are applied; the counters stay right.
func TestGroupCommitFailsAlone(t *testing.T) {
	ctx := t.Context()
	s := openTest(t, filepath.Join(t.TempDir(), "k.db"), Options{})
	gone := testKP("carol", "gone")
	if err := s.CreateKeyPair(ctx, gone, 10, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteKeyPair(ctx, gone.ID, nil); err != nil {
		t.Fatal(err)
	}
	kept := testKP("carol", "kept")
	if err := s.CreateKeyPair(ctx, kept, 10, nil); err != nil {
		t.Fatal(err)
	}
	create := func(user, name string, quota int) func() error {
		return func() error { return s.CreateKeyPair(ctx, testKP(user, name), quota, nil) }
	}
	cancelled, cancel := context.WithCancel(ctx)
	start := []func() error{
		create("alice", "a", 10),
		create("alice", "a", 10), // duplicate of the one before it in the batch
		create("bob", "b1", 2),
		create("bob", "b2", 2),
		create("bob", "b3", 2), // over quota, counting the two before it
		func() error { return s.DeleteKeyPair(ctx, gone.ID, nil) },
		func() error { return s.DeleteKeyPair(ctx, kept.ID, nil) },
		func() error { return s.CreateKeyPair(cancelled, testKP("alice", "late"), 10, nil) }, // cancelled while queued
		create("alice", "b", 10),
	}
	errs, sizes := heldBatch(t, s, create("dave", "first", 10), start, cancel)
	codes := make([]keypair.Code, len(errs))
	for i, err := range errs {
		codes[i] = keypair.ErrorCode(err)
	}
	want := []keypair.Code{"", keypair.ECONFLICT, "", "", keypair.EQUOTA, keypair.ENOTFOUND, "", keypair.EINTERNAL, "", ""}
	if !slices.Equal(codes, want) {
		t.Errorf("outcomes %v (%v), want %v", codes, errs, want)
	}
	if !slices.Equal(sizes, []int{1, 5}) {
		t.Errorf("batch sizes %v, want [1 5] (the first write alone, then the queued ones that succeeded)", sizes)
	}
	for user, n := range map[string]int{"alice": 2, "bob": 2, "carol": 0, "dave": 1} {
		if got, err := s.CountKeyPairs(ctx, user); err != nil || got != n {
			t.Errorf("CountKeyPairs(%s) = %d, %v; want %d", user, got, err, n)
		}
	}
	if d := countsDiff(ctx, t, s.w); d != nil {
		t.Errorf("counters differ from the rows: %v", d)
	}
	if _, err := s.GetKeyPair(ctx, keypair.Viewer{UserID: "alice"}, "late"); keypair.ErrorCode(err) != keypair.ENOTFOUND {
		t.Errorf("the cancelled create was applied: %v", err)
	}
}

// TestGroupCommitBounded: more writes than maxBatch queued at once are
// split into batches of at most maxBatch, and every one is applied.
func TestGroupCommitBounded(t *testing.T) {
	ctx := t.Context()
	s := openTest(t, filepath.Join(t.TempDir(), "k.db"), Options{})
	var start []func() error
	for i := range maxBatch + 10 {
		start = append(start, func() error { return s.CreateKeyPair(ctx, testKP("alice", fmt.Sprint("k", i)), 1000, nil) })
	}
	errs, sizes := heldBatch(t, s, func() error { return s.CreateKeyPair(ctx, testKP("bob", "first"), 10, nil) }, start, func() {})
	for i, err := range errs {
		if err != nil {
			t.Errorf("write %d: %v", i, err)
		}
	}
	if !slices.Equal(sizes, []int{1, maxBatch, 10}) {
		t.Errorf("batch sizes %v, want [1 %d 10]", sizes, maxBatch)
	}
	if n, _ := s.CountKeyPairs(ctx, "alice"); n != maxBatch+10 {
		t.Errorf("alice has %d key pairs, want %d", n, maxBatch+10)
	}
}

// TestGroupCommitQuotaExact: 150 creates for one owner with a quota of
// 100, queued at once so that they commit in batches of 64, 64 and 22:
// exactly 100 succeed, the first 100 in queue order, as each create
// counts the batch's earlier ones.
func TestGroupCommitQuotaExact(t *testing.T) {
	ctx := t.Context()
	s := openTest(t, filepath.Join(t.TempDir(), "k.db"), Options{})
	const n, q = 150, 100
	var start []func() error
	for i := range n {
		start = append(start, func() error { return s.CreateKeyPair(ctx, testKP("alice", fmt.Sprintf("k%03d", i)), q, nil) })
	}
	errs, sizes := heldBatch(t, s, func() error { return s.CreateKeyPair(ctx, testKP("bob", "first"), q, nil) }, start, func() {})
	for i, err := range errs[:n] {
		want := keypair.Code("")
		if i >= q {
			want = keypair.EQUOTA
		}
		if got := keypair.ErrorCode(err); got != want {
			t.Errorf("create %d: %v, want %q", i, err, want)
		}
	}
	if !slices.Equal(sizes, []int{1, 64, 36}) {
		t.Errorf("batch sizes (writes applied) %v, want [1 64 36]", sizes)
	}
	if c, err := s.CountKeyPairs(ctx, "alice"); err != nil || c != q {
		t.Errorf("CountKeyPairs = %d, %v; want %d", c, err, q)
	}
	if d := countsDiff(ctx, t, s.w); d != nil {
		t.Errorf("counters differ from the rows: %v", d)
	}
}

// TestReadsDoNotWaitForWrites: while the writer connection holds an open
// write transaction with an uncommitted insert and a batch of creates
// waits behind it, gets, lists and counts are answered from the readers
// (WAL), showing the committed state only.
func TestReadsDoNotWaitForWrites(t *testing.T) {
	ctx := t.Context()
	s := openTest(t, filepath.Join(t.TempDir(), "k.db"), Options{})
	if err := s.CreateKeyPair(ctx, testKP("alice", "old"), 10, nil); err != nil {
		t.Fatal(err)
	}
	conn, err := s.w.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO key_pairs (uid, user_id, project_id, name, type, public_key, fingerprint, created_at, updated_at)
		VALUES ('u-pending', 'alice', 'p', 'pending', 'ssh', 'k', 'f', 0, 0)`); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.CreateKeyPair(ctx, testKP("alice", "queued"), 10, nil) }()
	waitFor(t, func() bool { s.gc.mu.Lock(); defer s.gc.mu.Unlock(); return s.gc.taken == 1 })

	// A deadline only so that a regression fails instead of hanging.
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := s.GetKeyPair(rctx, keypair.Viewer{UserID: "alice"}, "old"); err != nil {
		t.Errorf("get during a write: %v", err)
	}
	if kps, err := s.ListKeyPairs(rctx, keypair.Viewer{UserID: "alice"}, keypair.Page{}); err != nil || len(kps) != 1 {
		t.Errorf("list during a write = %d key pairs, %v; want the committed one", len(kps), err)
	}
	if n, err := s.CountKeyPairs(rctx, "alice"); err != nil || n != 1 {
		t.Errorf("count during a write = %d, %v; want 1", n, err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	if err := <-done; err != nil {
		t.Fatalf("the queued create: %v", err)
	}
	if n, _ := s.CountKeyPairs(ctx, "alice"); n != 2 {
		t.Errorf("after the writes alice has %d, want 2", n)
	}
}

// TestGroupCommitStatementFailsAlone: a create whose INSERT itself fails
// (a uid already taken, which no check before it looks at) runs without a
// savepoint of its own, as every plain create does; it fails alone and
// leaves nothing behind, and the writes around it in its batch apply.
func TestGroupCommitStatementFailsAlone(t *testing.T) {
	ctx := t.Context()
	s := openTest(t, filepath.Join(t.TempDir(), "k.db"), Options{})
	taken := testKP("carol", "taken")
	if err := s.CreateKeyPair(ctx, taken, 10, nil); err != nil {
		t.Fatal(err)
	}
	clash := testKP("alice", "clash")
	clash.UID = taken.UID
	start := []func() error{
		func() error { return s.CreateKeyPair(ctx, testKP("alice", "before"), 10, nil) },
		func() error { return s.CreateKeyPair(ctx, clash, 10, nil) },
		func() error { return s.CreateKeyPair(ctx, testKP("alice", "after"), 10, nil) },
	}
	errs, sizes := heldBatch(t, s, func() error { return s.CreateKeyPair(ctx, testKP("dave", "first"), 10, nil) }, start, func() {})
	if errs[0] != nil || errs[1] == nil || errs[2] != nil {
		t.Fatalf("outcomes %v, want only the clashing create to fail", errs)
	}
	if !slices.Equal(sizes, []int{1, 2}) {
		t.Errorf("batch sizes %v, want [1 2]", sizes)
	}
	got, err := s.ListKeyPairs(ctx, keypair.Viewer{UserID: "alice"}, keypair.Page{})
	var names []string
	for _, l := range got {
		names = append(names, l.Name)
	}
	if err != nil || !slices.Equal(names, []string{"after", "before"}) {
		t.Errorf("alice holds %v, %v; want after, before", got, err)
	}
	if d := countsDiff(ctx, t, s.w); d != nil {
		t.Errorf("counters differ from the rows: %v", d)
	}
}

// TestGroupCommitClose: Close answers the writes queued before it, each
// applied and durable, and a write after Close fails with errClosed
// instead of waiting for a committer that is gone.
func TestGroupCommitClose(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.db")
	s, err := Open(t.Context(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := s.w.Conn(t.Context()) // the first batch cannot begin yet
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close() // on a failure too, or the writes would wait for ever
	const n = 5
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = s.CreateKeyPair(t.Context(), testKP("u", fmt.Sprint("k-", i)), 100, nil) })
		if i == 0 { // taken alone, and waiting for the connection
			waitFor(t, func() bool { s.gc.mu.Lock(); defer s.gc.mu.Unlock(); return s.gc.taken == 1 })
		}
	}
	waitFor(t, func() bool { return s.queued() == n-1 })
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	waitFor(t, func() bool { s.gc.mu.Lock(); defer s.gc.mu.Unlock(); return s.gc.closed })
	if err := s.CreateKeyPair(t.Context(), testKP("u", "late"), 100, nil); !errors.Is(err, errClosed) {
		t.Fatalf("a create after Close: %v, want errClosed", err)
	}
	conn.Close()
	wg.Wait()
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}
	for i, err := range errs {
		if err != nil {
			t.Errorf("write %d queued before Close: %v", i, err)
		}
	}
	again := openTest(t, path, Options{})
	if got, err := again.CountKeyPairs(t.Context(), "u"); err != nil || got != n {
		t.Fatalf("after reopening, u has %d key pairs (%v), want %d", got, err, n)
	}
}

// TestGroupCommitFullDisk: a write that fails because the database is full
// (max_page_count standing in for a full disk, which SQLite may answer by
// rolling the whole transaction back) leaves every write of its batch
// answered as it was applied: none is reported failed but applied, or
// applied outside the batch's transaction.
func TestGroupCommitFullDisk(t *testing.T) {
	ctx := t.Context()
	s := openTest(t, filepath.Join(t.TempDir(), "k.db"), Options{})
	victim := testKP("alice", "victim")
	mustCreateKP(t, s, victim)
	var pages int
	if err := s.w.QueryRowContext(ctx, `PRAGMA page_count`).Scan(&pages); err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.ExecContext(ctx, fmt.Sprintf(`PRAGMA max_page_count = %d`, pages)); err != nil {
		t.Fatal(err)
	}
	big := testKP("alice", "big")
	big.PublicKey = "ssh-ed25519 " + strings.Repeat("A", 256<<10)
	start := []func() error{
		func() error { return s.CreateKeyPair(ctx, big, 10, nil) },
		func() error { return s.DeleteKeyPair(ctx, victim.ID, nil) },
		func() error { return s.CreateKeyPair(ctx, testKP("alice", "small"), 10, nil) },
	}
	errs, _ := heldBatch(t, s, func() error { return s.CreateKeyPair(ctx, testKP("dave", "first"), 10, nil) }, start, func() {})
	if errs[0] == nil {
		t.Fatal("a create past max_page_count succeeded")
	}
	if _, err := s.w.ExecContext(ctx, `PRAGMA max_page_count = 1073741823`); err != nil {
		t.Fatal(err)
	}
	has := func(name string) bool {
		_, err := s.GetKeyPair(ctx, keypair.Viewer{UserID: "alice"}, name)
		return err == nil
	}
	if deleted := !has("victim"); deleted != (errs[1] == nil) {
		t.Errorf("delete answered %v, but the key pair is deleted: %v", errs[1], deleted)
	}
	if created := has("small"); created != (errs[2] == nil) {
		t.Errorf("create answered %v, but the key pair exists: %v", errs[2], created)
	}
	if d := countsDiff(ctx, t, s.w); d != nil {
		t.Errorf("counters differ from the rows: %v", d)
	}
	t.Logf("outcomes: %v", errs)
}
