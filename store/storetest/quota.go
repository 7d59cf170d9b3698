package storetest

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/keypair"
)

func testQuota(t *testing.T, s keypair.Store) {
	const q = 3
	var kps []*keypair.KeyPair
	for i := range q {
		kp := newKP("alice", fmt.Sprint("k", i))
		if i == q-1 {
			kp = sharedKP("alice", domain, "k2") // shared key pairs count too
		}
		if err := s.CreateKeyPair(t.Context(), kp, q, nil); err != nil {
			t.Fatalf("create %d of %d: %v", i+1, q, err)
		}
		kps = append(kps, kp)
	}
	over := newKP("alice", "k3")
	err := s.CreateKeyPair(t.Context(), over, q, nil)
	wantCode(t, err, keypair.EQUOTA, "create over quota")
	wantNoSecret(t, err, over.PublicKey)
	if over.ID != 0 {
		t.Errorf("refused create set ID %d", over.ID)
	}
	_, err = s.GetKeyPair(t.Context(), me("alice"), "k3")
	wantCode(t, err, keypair.ENOTFOUND, "GetKeyPair of the refused key pair")
	if n, err := s.CountKeyPairs(t.Context(), "alice"); err != nil || n != q {
		t.Fatalf("CountKeyPairs = %d, %v; want %d", n, err, q)
	}

	// The quota is per owner.
	if err := s.CreateKeyPair(t.Context(), newKP("bob", "k0"), q, nil); err != nil {
		t.Errorf("another user's create: %v", err)
	}
	// A delete makes room again.
	if err := s.DeleteKeyPair(t.Context(), kps[0].ID, nil); err != nil {
		t.Fatalf("DeleteKeyPair: %v", err)
	}
	if err := s.CreateKeyPair(t.Context(), newKP("alice", "k3"), q, nil); err != nil {
		t.Errorf("create after a delete made room: %v", err)
	}
	err = s.CreateKeyPair(t.Context(), newKP("alice", "k4"), q, nil)
	wantCode(t, err, keypair.EQUOTA, "create over quota again")
}

func testQuotaZero(t *testing.T, s keypair.Store) {
	err := s.CreateKeyPair(t.Context(), newKP("alice", "k"), 0, nil)
	wantCode(t, err, keypair.EQUOTA, "create with quota 0")
	if n, err := s.CountKeyPairs(t.Context(), "alice"); err != nil || n != 0 {
		t.Errorf("CountKeyPairs = %d, %v; want 0", n, err)
	}
}

func testCancelledContext(t *testing.T, s keypair.Store) {
	k := mustCreate(t, s, newKP("alice", "k"))
	for range 2 { // twice: an engine that keeps answers must not serve them either
		if _, err := s.GetKeyPair(t.Context(), me("alice"), "k"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ListKeyPairs(t.Context(), me("alice"), keypair.Page{}); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.CreateKeyPair(ctx, newKP("alice", "late"), quota, nil); err == nil {
		t.Error("CreateKeyPair with a cancelled context succeeded")
	}
	if _, err := s.GetKeyPair(ctx, me("alice"), "k"); err == nil {
		t.Error("GetKeyPair with a cancelled context succeeded")
	}
	if _, err := s.ListKeyPairs(ctx, me("alice"), keypair.Page{}); err == nil {
		t.Error("ListKeyPairs with a cancelled context succeeded")
	}
	if _, err := s.CountKeyPairs(ctx, "alice"); err == nil {
		t.Error("CountKeyPairs with a cancelled context succeeded")
	}
	if err := s.DeleteKeyPair(ctx, k.ID, nil); err == nil {
		t.Error("DeleteKeyPair with a cancelled context succeeded")
	}
	if err := s.UpdateDescription(ctx, k.ID, "late", time.Now()); err == nil {
		t.Error("UpdateDescription with a cancelled context succeeded")
	}
	if err := s.SwapEscrow(ctx, k.ID, nil, testEscrow("late"), time.Now(), nil); err == nil {
		t.Error("SwapEscrow with a cancelled context succeeded")
	}
	if _, err := s.ListEscrowed(ctx, 0, 10); err == nil {
		t.Error("ListEscrowed with a cancelled context succeeded")
	}
	if err := s.AppendAudit(ctx, testAudit(0)); err == nil {
		t.Error("AppendAudit with a cancelled context succeeded")
	}
	if _, err := s.ListAudit(ctx, 0, 10); err == nil {
		t.Error("ListAudit with a cancelled context succeeded")
	}
	if d := diffGet(t, s, me("alice"), k); d != "" {
		t.Errorf("after cancelled calls the key pair changed: %s", d)
	}
	if es, err := s.ListAudit(t.Context(), 0, 100); err != nil || len(es) != 0 {
		t.Errorf("after a cancelled append ListAudit = %d entries, %v; want none", len(es), err)
	}
	if n, err := s.CountKeyPairs(t.Context(), "alice"); err != nil || n != 1 {
		t.Errorf("after cancelled calls CountKeyPairs = %d, %v; want 1", n, err)
	}
}

// race runs create(i) for i in [0, n) on n goroutines released together and
// returns the error codes, "" for success.
func race(n int, create func(i int) error) []keypair.Code {
	codes := make([]keypair.Code, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			codes[i] = keypair.ErrorCode(create(i))
		})
	}
	close(start)
	wg.Wait()
	return codes
}

// tally counts codes, keyed by code ("" for success).
func tally(codes []keypair.Code) map[keypair.Code]int {
	m := map[keypair.Code]int{}
	for _, c := range codes {
		m[c]++
	}
	return m
}

func testConcurrentSameName(t *testing.T, s keypair.Store) {
	const n = 50
	codes := race(n, func(i int) error {
		kp := newKP("alice", "same")
		kp.Fingerprint = fmt.Sprintf("%02x:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00", i)
		return s.CreateKeyPair(t.Context(), kp, quota, nil)
	})
	want := map[keypair.Code]int{"": 1, keypair.ECONFLICT: n - 1}
	if got := tally(codes); !maps.Equal(got, want) {
		t.Fatalf("outcomes of %d concurrent creates of one name = %v, want %v", n, got, want)
	}
	if c, err := s.CountKeyPairs(t.Context(), "alice"); err != nil || c != 1 {
		t.Errorf("CountKeyPairs = %d, %v; want 1", c, err)
	}
}

func testConcurrentQuota(t *testing.T, s keypair.Store) {
	const n, q = 200, 100
	codes := race(n, func(i int) error {
		return s.CreateKeyPair(t.Context(), newKP("alice", fmt.Sprintf("k%03d", i)), q, nil)
	})
	want := map[keypair.Code]int{"": q, keypair.EQUOTA: n - q}
	if got := tally(codes); !maps.Equal(got, want) {
		t.Fatalf("outcomes of %d concurrent creates with quota %d = %v, want %v", n, q, got, want)
	}
	if c, err := s.CountKeyPairs(t.Context(), "alice"); err != nil || c != q {
		t.Errorf("CountKeyPairs = %d, %v; want %d", c, err, q)
	}
	var created []string
	for i, c := range codes {
		if c == "" {
			created = append(created, fmt.Sprintf("k%03d", i))
		}
	}
	list, err := s.ListKeyPairs(t.Context(), me("alice"), keypair.Page{})
	if err != nil {
		t.Fatalf("ListKeyPairs: %v", err)
	}
	if !slices.Equal(listedNames(list), created) {
		t.Errorf("listed names are not exactly the successful creates")
	}
}
