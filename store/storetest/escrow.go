package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/keypair"
)

// testEscrow returns a distinct escrowed key fixture; the blob holds zero
// and high bytes, as real sealed envelopes do.
func testEscrow(tag string) *keypair.Escrowed {
	return &keypair.Escrowed{KeyRef: "local/" + tag, Blob: append([]byte{0, 0xff, 0x80, 0}, "sealed "+tag...)}
}

// stamp is a time in a zone other than UTC with sub-microsecond digits,
// and what a store must give back for it.
func stamp(sec int) (in, stored time.Time) {
	in = time.Date(2031, 2, 3, 4, 5, sec, 789123456, time.FixedZone("UTC+1", 3600))
	return in, in.Truncate(time.Microsecond).UTC()
}

func testUpdateDescription(t *testing.T, s keypair.Store) {
	kp := mustCreate(t, s, newKP("alice", "k"))
	other := mustCreate(t, s, newKP("alice", "other"))
	now, stored := stamp(1)
	if err := s.UpdateDescription(t.Context(), kp.ID, "web servers — prod", now); err != nil {
		t.Fatalf("UpdateDescription: %v", err)
	}
	want := *kp
	want.Description, want.UpdatedAt = "web servers — prod", stored
	if d := diffGet(t, s, me("alice"), &want); d != "" {
		t.Errorf("after UpdateDescription: %s", d)
	}
	now, stored = stamp(2)
	if err := s.UpdateDescription(t.Context(), kp.ID, "", now); err != nil {
		t.Fatalf("UpdateDescription to empty: %v", err)
	}
	want.Description, want.UpdatedAt = "", stored
	if d := diffGet(t, s, me("alice"), &want); d != "" {
		t.Errorf("after clearing the description: %s", d)
	}
	if d := diffGet(t, s, me("alice"), other); d != "" {
		t.Errorf("another key pair changed: %s", d)
	}

	if err := s.DeleteKeyPair(t.Context(), other.ID, nil); err != nil {
		t.Fatal(err)
	}
	for _, id := range []int64{other.ID, other.ID + 100, 0} {
		err := s.UpdateDescription(t.Context(), id, "x", now)
		wantCode(t, err, keypair.ENOTFOUND, fmt.Sprintf("UpdateDescription(%d)", id))
	}
}

func testSwapEscrow(t *testing.T, s keypair.Store) {
	kp := mustCreate(t, s, newKP("alice", "k"))
	want := *kp
	check := func(what string) {
		t.Helper()
		if d := diffGet(t, s, me("alice"), &want); d != "" {
			t.Errorf("%s: %s", what, d)
		}
	}
	swap := func(old, next *keypair.Escrowed, sec int, code keypair.Code, what string) {
		t.Helper()
		now, stored := stamp(sec)
		err := s.SwapEscrow(t.Context(), kp.ID, old, next, now, nil)
		wantCode(t, err, code, what)
		if err == nil {
			want.Escrow, want.UpdatedAt = next, stored
		}
		check(what)
	}
	one, two := testEscrow("one"), testEscrow("two")
	swap(nil, one, 1, "", "set")
	swap(nil, two, 2, keypair.ECONFLICT, "set when already set")
	swap(&keypair.Escrowed{KeyRef: one.KeyRef, Blob: append(slices.Clone(one.Blob), 0)}, two, 3, keypair.ECONFLICT, "swap from another blob")
	swap(&keypair.Escrowed{KeyRef: "local/other", Blob: one.Blob}, two, 4, keypair.ECONFLICT, "swap from another key ref")
	swap(&keypair.Escrowed{KeyRef: one.KeyRef, Blob: slices.Clone(one.Blob)}, two, 5, "", "rewrap (old is an equal copy)")
	swap(one, nil, 6, keypair.ECONFLICT, "clear from a stale old")
	swap(two, nil, 7, "", "clear")
	swap(two, one, 8, keypair.ECONFLICT, "swap when cleared")
	swap(nil, one, 9, "", "set again")

	if err := s.DeleteKeyPair(t.Context(), kp.ID, nil); err != nil {
		t.Fatal(err)
	}
	now, _ := stamp(10)
	for _, old := range []*keypair.Escrowed{nil, one} {
		err := s.SwapEscrow(t.Context(), kp.ID, old, two, now, nil)
		wantCode(t, err, keypair.ENOTFOUND, "SwapEscrow of a deleted key pair")
	}
	err := s.SwapEscrow(t.Context(), kp.ID+100, nil, two, now, nil)
	wantCode(t, err, keypair.ENOTFOUND, "SwapEscrow of a key pair that never was")
	if list, err := s.ListEscrowed(t.Context(), 0, 10); err != nil || len(list) != 0 {
		t.Errorf("ListEscrowed after delete = %q, %v; want nothing", names(list), err)
	}
}

func testCreateEscrowed(t *testing.T, s keypair.Store) {
	e := testEscrow("created")
	kp := newKP("alice", "k")
	kp.Escrow = e
	mustCreate(t, s, kp)
	if d := diffGet(t, s, me("alice"), kp); d != "" {
		t.Errorf("GetKeyPair: %s", d)
	}
	now, _ := stamp(1)
	err := s.SwapEscrow(t.Context(), kp.ID, nil, testEscrow("other"), now, nil)
	wantCode(t, err, keypair.ECONFLICT, "SwapEscrow from none of a key pair created with escrow")
	if err := s.SwapEscrow(t.Context(), kp.ID, e, nil, now, nil); err != nil {
		t.Fatalf("clear: %v", err)
	}
	got, err := s.GetKeyPair(t.Context(), me("alice"), "k")
	if err != nil || got.Escrow != nil {
		t.Fatalf("after clear GetKeyPair = %+v, %v; want no escrow", got, err)
	}
}

func testListEscrowed(t *testing.T, s keypair.Store) {
	var want []*keypair.KeyPair
	for i := range 30 {
		kp := newKP([]string{"alice", "bob"}[i%2], fmt.Sprintf("k%02d", i))
		if i%5 == 4 {
			kp = sharedKP("carol", domain, fmt.Sprintf("k%02d", i))
		}
		if i%3 != 0 {
			kp.Escrow = testEscrow(fmt.Sprint(i))
		}
		mustCreate(t, s, kp)
		switch i {
		case 7: // cleared: no longer escrowed
			now, _ := stamp(1)
			if err := s.SwapEscrow(t.Context(), kp.ID, kp.Escrow, nil, now, nil); err != nil {
				t.Fatal(err)
			}
		case 11: // gone
			if err := s.DeleteKeyPair(t.Context(), kp.ID, nil); err != nil {
				t.Fatal(err)
			}
		case 12: // escrowed later
			now, stored := stamp(2)
			e := testEscrow("late")
			if err := s.SwapEscrow(t.Context(), kp.ID, nil, e, now, nil); err != nil {
				t.Fatal(err)
			}
			kp.Escrow, kp.UpdatedAt = e, stored
			want = append(want, kp)
		default:
			if kp.Escrow != nil {
				want = append(want, kp)
			}
		}
	}

	const limit = 4
	var got []*keypair.KeyPair
	after := int64(0)
	for pages := 0; ; pages++ {
		if pages > len(want) {
			t.Fatal("paging through ListEscrowed does not end")
		}
		page, err := s.ListEscrowed(t.Context(), after, limit)
		if err != nil {
			t.Fatalf("ListEscrowed(%d, %d): %v", after, limit, err)
		}
		if len(page) > limit {
			t.Fatalf("ListEscrowed(%d, %d) returned %d", after, limit, len(page))
		}
		got = append(got, page...)
		if len(page) < limit {
			break
		}
		after = page[len(page)-1].ID
	}
	if len(got) != len(want) {
		t.Fatalf("ListEscrowed pages hold %q, want %q", names(got), names(want))
	}
	for i := range got {
		if d := diff(got[i], want[i]); d != "" {
			t.Errorf("ListEscrowed #%d: %s", i, d)
		}
	}
	page, err := s.ListEscrowed(t.Context(), want[2].ID, 2)
	if err != nil || !slices.Equal(names(page), names(want[3:5])) {
		t.Errorf("ListEscrowed(after %s, 2) = %q, %v; want %q", want[2].Name, names(page), err, names(want[3:5]))
	}
	page, err = s.ListEscrowed(t.Context(), want[len(want)-1].ID, limit)
	if err != nil || len(page) != 0 {
		t.Errorf("ListEscrowed after the last = %q, %v; want nothing", names(page), err)
	}
}
