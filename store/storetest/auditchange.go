package storetest

import (
	"fmt"
	"sync"
	"testing"

	"github.com/keyhaven/keyhaven/keypair"
)

// The audit entry of an escrow change is appended by the write that makes
// the change, in its transaction: these tests check that a change and its
// entry commit together, and that a change that fails leaves no entry.

// changeAudit returns an entry fixture for a change to kp.
func changeAudit(action keypair.AuditAction, kp *keypair.KeyPair, i int) *keypair.AuditEntry {
	e := testAudit(i)
	e.Action, e.KeyPairID, e.KeyPairUID, e.KeyPairName = action, kp.ID, kp.UID, kp.Name
	return e
}

// wantLog fails the test unless the log holds exactly want, in order,
// chained.
func wantLog(t *testing.T, s keypair.Store, want []*keypair.AuditEntry, what string) {
	t.Helper()
	got := listAudit(t, s)
	if len(got) != len(want) {
		t.Fatalf("%s: the log holds %d entries, want %d", what, len(got), len(want))
	}
	verifyChain(t, got)
	for i := range got {
		if d := auditDiff(got[i], want[i]); d != "" {
			t.Fatalf("%s: entry %d: %s", what, i+1, d)
		}
	}
}

func testAuditWithCreate(t *testing.T, s keypair.Store) {
	var log []*keypair.AuditEntry
	kp := newKP("alice", "k")
	kp.Escrow = testEscrow("created")
	e := changeAudit(keypair.AuditCreateEscrowed, kp, 0)
	e.KeyPairID = 0 // unknown before the insert: the store sets it
	if err := s.CreateKeyPair(t.Context(), kp, quota, e); err != nil {
		t.Fatalf("CreateKeyPair with an entry: %v", err)
	}
	if e.KeyPairID != kp.ID || e.Seq != 1 || len(e.Hash) != 32 {
		t.Fatalf("after CreateKeyPair the entry has KeyPairID %d, Seq %d, hash %x; want %d, 1, a hash", e.KeyPairID, e.Seq, e.Hash, kp.ID)
	}
	log = append(log, e)
	wantLog(t, s, log, "after an escrowed create")

	// Creates that fail append nothing.
	dup := newKP("alice", "k")
	dup.Escrow = testEscrow("dup")
	err := s.CreateKeyPair(t.Context(), dup, quota, changeAudit(keypair.AuditCreateEscrowed, dup, 1))
	wantCode(t, err, keypair.ECONFLICT, "CreateKeyPair of a taken name")
	over := newKP("alice", "over")
	over.Escrow = testEscrow("over")
	err = s.CreateKeyPair(t.Context(), over, 1, changeAudit(keypair.AuditCreateEscrowed, over, 2))
	wantCode(t, err, keypair.EQUOTA, "CreateKeyPair over quota")
	bad := newKP("alice", "uid taken") // fails at the insert itself
	bad.UID, bad.Escrow = kp.UID, testEscrow("bad")
	if err := s.CreateKeyPair(t.Context(), bad, quota, changeAudit(keypair.AuditCreateEscrowed, bad, 3)); err == nil {
		t.Fatal("CreateKeyPair with a taken UID succeeded")
	}
	wantLog(t, s, log, "after failed creates")

	// Without an entry nothing is logged; the next entry still chains.
	mustCreate(t, s, newKP("alice", "plain"))
	next := newKP("bob", "k")
	next.Escrow = testEscrow("bob")
	e = changeAudit(keypair.AuditCreateEscrowed, next, 4)
	if err := s.CreateKeyPair(t.Context(), next, quota, e); err != nil {
		t.Fatal(err)
	}
	log = append(log, e)
	wantLog(t, s, log, "after a second escrowed create")
}

func testAuditWithSwap(t *testing.T, s keypair.Store) {
	kp := mustCreate(t, s, newKP("alice", "k"))
	var log []*keypair.AuditEntry
	swap := func(old, next *keypair.Escrowed, action keypair.AuditAction, i int, code keypair.Code, what string) {
		t.Helper()
		now, _ := stamp(i)
		e := changeAudit(action, kp, i)
		err := s.SwapEscrow(t.Context(), kp.ID, old, next, now, e)
		wantCode(t, err, code, what)
		if err == nil {
			log = append(log, e)
		} else if e.Seq != 0 || e.Hash != nil {
			t.Fatalf("%s failed, yet the entry was given Seq %d", what, e.Seq)
		}
		wantLog(t, s, log, what)
	}
	one, two := testEscrow("one"), testEscrow("two")
	swap(nil, one, keypair.AuditImportPrivate, 1, "", "import")
	swap(nil, two, keypair.AuditImportPrivate, 2, keypair.ECONFLICT, "import when one is kept")
	swap(one, two, keypair.AuditRewrap, 3, "", "rewrap")
	swap(one, nil, keypair.AuditClear, 4, keypair.ECONFLICT, "clear from a stale old")
	swap(two, nil, keypair.AuditClear, 5, "", "clear")
	swap(two, nil, keypair.AuditClear, 6, keypair.ECONFLICT, "clear twice")
	if err := s.DeleteKeyPair(t.Context(), kp.ID, nil); err != nil {
		t.Fatal(err)
	}
	swap(nil, one, keypair.AuditImportPrivate, 7, keypair.ENOTFOUND, "import into a deleted key pair")
}

func testAuditWithDelete(t *testing.T, s keypair.Store) {
	escrowed := newKP("alice", "escrowed")
	escrowed.Escrow = testEscrow("e")
	mustCreate(t, s, escrowed)
	plain := mustCreate(t, s, newKP("alice", "plain"))

	e := changeAudit(keypair.AuditDeleteEscrowed, plain, 0)
	if err := s.DeleteKeyPair(t.Context(), plain.ID, e); err != nil {
		t.Fatal(err)
	}
	if e.Seq != 0 {
		t.Fatalf("the delete of a key pair without escrow logged entry %d", e.Seq)
	}
	wantLog(t, s, nil, "after deleting a key pair without escrow")

	e = changeAudit(keypair.AuditDeleteEscrowed, escrowed, 1)
	if err := s.DeleteKeyPair(t.Context(), escrowed.ID, e); err != nil {
		t.Fatal(err)
	}
	wantLog(t, s, []*keypair.AuditEntry{e}, "after deleting an escrowed key pair")

	err := s.DeleteKeyPair(t.Context(), escrowed.ID, changeAudit(keypair.AuditDeleteEscrowed, escrowed, 2))
	wantCode(t, err, keypair.ENOTFOUND, "second DeleteKeyPair")
	wantLog(t, s, []*keypair.AuditEntry{e}, "after a failed delete")
}

// testAuditChangesConcurrent races escrowed creates, clears and deletes,
// each with its entry, against plain appends: every change that succeeded
// has its entry, no failed one has, and the chain holds.
func testAuditChangesConcurrent(t *testing.T, s keypair.Store) {
	const n = 12
	kps := make([]*keypair.KeyPair, n)
	for i := range kps {
		kps[i] = newKP(fmt.Sprint("user", i%3), fmt.Sprint("k", i))
		kps[i].Escrow = testEscrow(fmt.Sprint(i))
	}
	var mu sync.Mutex
	var logged []*keypair.AuditEntry
	record := func(e *keypair.AuditEntry, err error) {
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			t.Errorf("%s: %v", e.Action, err)
			return
		}
		logged = append(logged, e)
	}
	var wg sync.WaitGroup
	for i, kp := range kps {
		wg.Go(func() {
			e := changeAudit(keypair.AuditCreateEscrowed, kp, i)
			if err := s.CreateKeyPair(t.Context(), kp, quota, e); err != nil {
				record(e, err)
				return
			}
			record(e, nil)
			now, _ := stamp(i)
			switch i % 3 {
			case 0:
				e := changeAudit(keypair.AuditClear, kp, i)
				record(e, s.SwapEscrow(t.Context(), kp.ID, kp.Escrow, nil, now, e))
			case 1:
				e := changeAudit(keypair.AuditDeleteEscrowed, kp, i)
				record(e, s.DeleteKeyPair(t.Context(), kp.ID, e))
			}
		})
		wg.Go(func() {
			e := testAudit(100 + i)
			record(e, s.AppendAudit(t.Context(), e))
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	got := listAudit(t, s)
	verifyChain(t, got)
	if len(got) != len(logged) {
		t.Fatalf("the log holds %d entries, %d writes appended one", len(got), len(logged))
	}
	bySeq := map[int64]*keypair.AuditEntry{}
	for _, e := range logged {
		bySeq[e.Seq] = e
	}
	for _, g := range got {
		w, ok := bySeq[g.Seq]
		if !ok {
			t.Fatalf("entry %d was given to no write", g.Seq)
		}
		if d := auditDiff(g, w); d != "" {
			t.Errorf("entry %d: %s", g.Seq, d)
		}
	}
}

// RunAuditFaults checks, against the engine open makes, that an escrow
// change whose audit entry cannot be written does not happen either.
// breakAudit makes every later insert into the store's audit log fail (a
// trigger, say) without touching anything else; each engine knows how.
func RunAuditFaults(t *testing.T, open func(t *testing.T) keypair.Store, breakAudit func(t *testing.T, s keypair.Store)) {
	s := open(t)
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	escrowed := newKP("alice", "escrowed")
	escrowed.Escrow = testEscrow("kept")
	mustCreate(t, s, escrowed)
	plain := mustCreate(t, s, newKP("alice", "plain"))
	breakAudit(t, s)

	kp := newKP("alice", "new")
	kp.Escrow = testEscrow("new")
	if err := s.CreateKeyPair(t.Context(), kp, quota, changeAudit(keypair.AuditCreateEscrowed, kp, 0)); err == nil {
		t.Fatal("CreateKeyPair succeeded although its audit entry could not be written")
	}
	if _, err := s.GetKeyPair(t.Context(), me("alice"), "new"); keypair.ErrorCode(err) != keypair.ENOTFOUND {
		t.Fatalf("a create whose entry failed left a key pair: %v", err)
	}
	now, _ := stamp(1)
	if err := s.SwapEscrow(t.Context(), escrowed.ID, escrowed.Escrow, nil, now, changeAudit(keypair.AuditClear, escrowed, 1)); err == nil {
		t.Fatal("SwapEscrow succeeded although its audit entry could not be written")
	}
	if err := s.SwapEscrow(t.Context(), plain.ID, nil, testEscrow("imported"), now, changeAudit(keypair.AuditImportPrivate, plain, 2)); err == nil {
		t.Fatal("an import succeeded although its audit entry could not be written")
	}
	if err := s.DeleteKeyPair(t.Context(), escrowed.ID, changeAudit(keypair.AuditDeleteEscrowed, escrowed, 3)); err == nil {
		t.Fatal("DeleteKeyPair succeeded although its audit entry could not be written")
	}
	if d := diffGet(t, s, me("alice"), escrowed); d != "" {
		t.Errorf("the escrowed key pair changed: %s", d)
	}
	if d := diffGet(t, s, me("alice"), plain); d != "" {
		t.Errorf("the key pair without escrow changed: %s", d)
	}
	// Writes with nothing to log still go through.
	if err := s.DeleteKeyPair(t.Context(), plain.ID, changeAudit(keypair.AuditDeleteEscrowed, plain, 4)); err != nil {
		t.Errorf("deleting a key pair without escrow: %v", err)
	}
	mustCreate(t, s, newKP("alice", "unaudited"))
	if es := listAudit(t, s); len(es) != 0 {
		t.Errorf("the log holds %d entries", len(es))
	}
}
