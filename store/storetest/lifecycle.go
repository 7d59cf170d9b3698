package storetest

// The contract of keypair.LifecycleStore: details beside key pairs,
// filtered keyset pages, atomic rotation, expiry.

import (
	"fmt"
	"math"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/keypair"
)

// lifecycleTests are run by Run with the rest of the suite.
var lifecycleTests = []contractCase[keypair.Store]{
	{"DetailsRoundTrip", testDetailsRoundTrip},
	{"ListDetailedFilters", testListDetailedFilters},
	{"UpdateDetails", testUpdateDetails},
	{"Rotate", testRotate},
	{"RotateConcurrent", testRotateConcurrent},
	{"DeleteExpired", testDeleteExpired},
	{"DeleteExpiredConcurrent", testDeleteExpiredConcurrent},
	{"SearchAudit", testSearchAudit},
}

func tag(k, v string) keypair.Tag { return keypair.Tag{Key: k, Value: v} }

func detailed(t *testing.T, s keypair.Store, kp *keypair.KeyPair) keypair.Details {
	t.Helper()
	c := *kp
	if err := s.LoadDetails(t.Context(), []*keypair.KeyPair{&c}); err != nil {
		t.Fatalf("LoadDetails: %v", err)
	}
	return c.Details
}

func testDetailsRoundTrip(t *testing.T, s keypair.Store) {
	at := time.Date(2031, 5, 6, 7, 8, 9, 123456000, time.UTC)
	kp := newKP("alice", "k")
	kp.Details = keypair.Details{Tags: []keypair.Tag{tag("env", "prod"), tag("team", "")}, ExpiresAt: &at}
	mustCreate(t, s, kp)
	d := detailed(t, s, kp)
	if fmt.Sprint(d.Tags) != fmt.Sprint(kp.Details.Tags) || d.ExpiresAt == nil || !d.ExpiresAt.Equal(at) || d.Previous != nil {
		t.Fatalf("details = %+v, want %+v", d, kp.Details)
	}
	plain := mustCreate(t, s, newKP("alice", "plain"))
	if d := detailed(t, s, plain); d.Tags != nil || d.ExpiresAt != nil || d.Previous != nil {
		t.Fatalf("details of a plain key pair = %+v", d)
	}
	if err := s.DeleteKeyPair(t.Context(), kp.ID, nil); err != nil {
		t.Fatal(err)
	}
	if d := detailed(t, s, kp); d.Tags != nil || d.ExpiresAt != nil {
		t.Fatalf("details outlived their key pair: %+v", d)
	}
}

func kpNames(kps []*keypair.KeyPair) string {
	var out []string
	for _, kp := range kps {
		out = append(out, kp.Name)
	}
	return fmt.Sprint(out)
}

func testListDetailedFilters(t *testing.T, s keypair.Store) {
	now := time.Now().UTC()
	past, future := now.Add(-time.Minute), now.Add(time.Hour)
	mk := func(user, name, alg, fp string, exp *time.Time, tags ...keypair.Tag) {
		kp := newKP(user, name)
		kp.Algorithm, kp.Fingerprint = alg, fp
		kp.Details = keypair.Details{Tags: tags, ExpiresAt: exp}
		mustCreate(t, s, kp)
	}
	mk("alice", "web-1", "ed25519", "aa", &future, tag("env", "prod"), tag("role", "web"))
	mk("alice", "web-2", "rsa-2048", "bb", nil, tag("env", "dev"))
	mk("alice", "db-1", "ed25519", "cc", nil, tag("env", "prod"))
	mk("alice", "old", "ed25519", "dd", &past)
	mk("bob", "web-3", "ed25519", "aa", nil, tag("env", "prod"))
	shared := sharedKP("carol", domain, "shared-1")
	mustCreate(t, s, shared)
	for _, c := range []struct {
		f     keypair.Filter
		after string
		limit int
		want  string
	}{
		{keypair.Filter{}, "", 10, "[db-1 shared-1 web-1 web-2]"},
		{keypair.Filter{}, "", 2, "[db-1 shared-1]"},
		{keypair.Filter{}, "shared-1", 2, "[web-1 web-2]"},
		{keypair.Filter{}, "zzz", 2, "[]"},
		{keypair.Filter{NamePrefix: "web-"}, "", 10, "[web-1 web-2]"},
		{keypair.Filter{Algorithm: "rsa-2048"}, "", 10, "[web-2]"},
		{keypair.Filter{Fingerprint: "cc"}, "", 10, "[db-1]"},
		{keypair.Filter{TagKeys: []string{"role"}}, "", 10, "[web-1]"},
		{keypair.Filter{Tags: []keypair.Tag{tag("env", "prod")}}, "", 10, "[db-1 web-1]"},
		{keypair.Filter{Tags: []keypair.Tag{tag("env", "prod")}, TagKeys: []string{"role"}}, "", 10, "[web-1]"},
		{keypair.Filter{Tags: []keypair.Tag{tag("env", "nope")}}, "", 10, "[]"},
		{keypair.Filter{NamePrefix: "web\x00"}, "", 10, "[]"},
	} {
		alice := me("alice")
		// After every key pair of that name, whatever its id.
		got, err := s.ListDetailed(t.Context(), &alice, c.f, keypair.Position{Name: c.after, ID: math.MaxInt64}, c.limit, now)
		if err != nil {
			t.Fatalf("ListDetailed(%+v): %v", c.f, err)
		}
		if kpNames(got) != c.want {
			t.Errorf("ListDetailed(%+v, after %q, limit %d) = %s, want %s", c.f, c.after, c.limit, kpNames(got), c.want)
		}
	}
	alice := me("alice")
	got, err := s.ListDetailed(t.Context(), &alice, keypair.Filter{NamePrefix: "web-1"}, keypair.Position{}, 10, now)
	if err != nil || len(got) != 1 || len(got[0].Details.Tags) != 2 || got[0].Details.ExpiresAt == nil {
		t.Fatalf("ListDetailed loads no details: %v %+v", err, got)
	}

	// Every owner's, by name then id: two owners' "dup" come one after
	// the other, and a page can end between them.
	mk("bob", "dup", "ed25519", "ee", nil)
	mk("alice", "dup", "ed25519", "ee", nil)
	everyone, err := s.ListDetailed(t.Context(), nil, keypair.Filter{}, keypair.Position{}, 100, now)
	if err != nil || kpNames(everyone) != "[db-1 dup dup shared-1 web-1 web-2 web-3]" {
		t.Fatalf("every owner's: %s %v", kpNames(everyone), err)
	}
	first := everyone[1]
	rest, err := s.ListDetailed(t.Context(), nil, keypair.Filter{Fingerprint: "ee"}, keypair.Position{Name: first.Name, ID: first.ID}, 100, now)
	if err != nil || len(rest) != 1 || rest[0].Name != "dup" || rest[0].ID <= first.ID {
		t.Fatalf("every owner's after the first dup: %s %v", kpNames(rest), err)
	}
}

func testUpdateDetails(t *testing.T, s keypair.Store) {
	kp := mustCreate(t, s, newKP("alice", "k"))
	desc := "hello"
	tags := []keypair.Tag{tag("a", "1")}
	at := time.Date(2032, 1, 1, 0, 0, 0, 0, time.UTC)
	atp := &at
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := s.UpdateDetails(t.Context(), kp.ID, keypair.DetailsUpdate{Description: &desc, Tags: &tags, Expiry: &atp}, now); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetKeyPair(t.Context(), me("alice"), "k")
	if err != nil || got.Description != "hello" || !got.UpdatedAt.Equal(now) {
		t.Fatalf("after update: %v %+v", err, got)
	}
	if d := detailed(t, s, kp); len(d.Tags) != 1 || d.ExpiresAt == nil || !d.ExpiresAt.Equal(at) {
		t.Fatalf("details = %+v", d)
	}
	none := []keypair.Tag{}
	var never *time.Time
	if err := s.UpdateDetails(t.Context(), kp.ID, keypair.DetailsUpdate{Tags: &none, Expiry: &never}, now); err != nil {
		t.Fatal(err)
	}
	if d := detailed(t, s, kp); d.Tags != nil || d.ExpiresAt != nil {
		t.Fatalf("details after clearing = %+v", d)
	}
	if got, _ := s.GetKeyPair(t.Context(), me("alice"), "k"); got.Description != "hello" {
		t.Fatalf("description changed by an update without one: %q", got.Description)
	}
	wantCode(t, s.UpdateDetails(t.Context(), kp.ID+1000, keypair.DetailsUpdate{Description: &desc}, now), keypair.ENOTFOUND, "update of a missing key pair")
}

func rotation(i int, escrowed bool) keypair.Rotation {
	return keypair.Rotation{PublicKey: fmt.Sprintf("ssh-ed25519 KEY%d", i), Fingerprint: fmt.Sprintf("fp-%d", i),
		Algorithm: "ed25519", Escrowed: escrowed, At: time.Date(2030, 1, 1, 0, 0, i, 0, time.UTC)}
}

func testRotate(t *testing.T, s keypair.Store) {
	kp := newKP("alice", "k")
	kp.Escrow = &keypair.Escrowed{KeyRef: "local/a", Blob: []byte("old")}
	mustCreate(t, s, kp)
	r := rotation(1, true)
	r.Escrow = &keypair.Escrowed{KeyRef: "local/a", Blob: []byte("new")}
	e := changeAudit(keypair.AuditRotate, kp, 0)
	prev, err := s.RotateKeyPair(t.Context(), kp.ID, r, e)
	if err != nil {
		t.Fatal(err)
	}
	if prev.PublicKey != sshPublic || prev.Fingerprint != fingerprint || prev.Algorithm != "ed25519" {
		t.Fatalf("previous = %+v", prev)
	}
	got, _ := s.GetKeyPair(t.Context(), me("alice"), "k")
	if got.ID != kp.ID || got.UID != kp.UID || got.PublicKey != r.PublicKey || got.Fingerprint != "fp-1" || string(got.Escrow.Blob) != "new" {
		t.Fatalf("after rotation: %+v", got)
	}
	if d := detailed(t, s, kp); d.Previous == nil || d.Previous.PublicKey != sshPublic || !d.Previous.RotatedAt.Equal(r.At) {
		t.Fatalf("previous kept = %+v", d.Previous)
	}
	wantLog(t, s, []*keypair.AuditEntry{e}, "rotation")
	// The escrow changed since the rotation was prepared: refused, logged not.
	_, err = s.RotateKeyPair(t.Context(), kp.ID, rotation(2, false), changeAudit(keypair.AuditRotate, kp, 1))
	wantCode(t, err, keypair.ECONFLICT, "rotation expecting no escrow")
	wantLog(t, s, []*keypair.AuditEntry{e}, "refused rotation")
	_, err = s.RotateKeyPair(t.Context(), kp.ID+1000, rotation(3, false), nil)
	wantCode(t, err, keypair.ENOTFOUND, "rotation of a missing key pair")
	if err := s.ForgetPrevious(t.Context(), r.At.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if d := detailed(t, s, kp); d.Previous != nil {
		t.Fatalf("previous kept after ForgetPrevious: %+v", d.Previous)
	}
}

// testRotateConcurrent: rotations run one after the other, each replacing
// what the last one left, so the previous keys form one chain.
func testRotateConcurrent(t *testing.T, s keypair.Store) {
	kp := mustCreate(t, s, newKP("alice", "k"))
	const n = 12
	prevs := make([]string, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			p, err := s.RotateKeyPair(t.Context(), kp.ID, rotation(i, false), changeAudit(keypair.AuditRotate, kp, i))
			if err != nil {
				errs <- err
				return
			}
			prevs[i] = p.PublicKey
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	replaced := map[string]bool{}
	for _, p := range prevs {
		if replaced[p] {
			t.Fatalf("%s was replaced twice", p)
		}
		replaced[p] = true
	}
	got, _ := s.GetKeyPair(t.Context(), me("alice"), "k")
	if replaced[got.PublicKey] || !replaced[sshPublic] {
		t.Fatalf("final key %s was replaced, or the first was not", got.PublicKey)
	}
	if es := listAudit(t, s); len(es) != n {
		t.Fatalf("%d audit entries, want %d", len(es), n)
	}
}

func expiredAudit(kp *keypair.KeyPair) *keypair.AuditEntry {
	e := changeAudit(keypair.AuditExpire, kp, 0)
	e.UserID = keypair.ExpiryActor
	return e
}

func testDeleteExpired(t *testing.T, s keypair.Store) {
	now := time.Now().UTC()
	past, future := now.Add(-time.Second), now.Add(time.Hour)
	a := newKP("alice", "a")
	a.Details.ExpiresAt = &past
	a.Escrow = &keypair.Escrowed{KeyRef: "local/a", Blob: []byte("sealed")}
	mustCreate(t, s, a)
	b := newKP("alice", "b")
	b.Details.ExpiresAt = &future
	mustCreate(t, s, b)
	mustCreate(t, s, newKP("alice", "c"))
	gone, err := s.DeleteExpired(t.Context(), now, 10, expiredAudit)
	if err != nil || kpNames(gone) != "[a]" || gone[0].ID != a.ID {
		t.Fatalf("DeleteExpired = %s, %v", kpNames(gone), err)
	}
	if _, err := s.GetKeyPair(t.Context(), me("alice"), "a"); keypair.ErrorCode(err) != keypair.ENOTFOUND {
		t.Fatalf("expired key pair still there: %v", err)
	}
	if es := listAudit(t, s); len(es) != 1 || es[0].Action != keypair.AuditExpire || es[0].KeyPairID != a.ID {
		t.Fatalf("audit after expiry: %+v", es)
	}
	if gone, err := s.DeleteExpired(t.Context(), now, 10, expiredAudit); err != nil || len(gone) != 0 {
		t.Fatalf("second DeleteExpired = %s, %v", kpNames(gone), err)
	}
}

// testDeleteExpiredConcurrent: reapers running at once delete and audit
// every expired key pair exactly once.
func testDeleteExpiredConcurrent(t *testing.T, s keypair.Store) {
	now := time.Now().UTC()
	past := now.Add(-time.Second)
	const n = 30
	for i := range n {
		kp := newKP("alice", fmt.Sprintf("k%02d", i))
		kp.Details.ExpiresAt = &past
		mustCreate(t, s, kp)
	}
	var mu sync.Mutex
	seen := map[int64]int{}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				gone, err := s.DeleteExpired(t.Context(), now, 4, expiredAudit)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for _, kp := range gone {
					seen[kp.ID]++
				}
				mu.Unlock()
				if len(gone) == 0 {
					return
				}
			}
		})
	}
	wg.Wait()
	if len(seen) != n {
		t.Fatalf("%d key pairs deleted, want %d", len(seen), n)
	}
	for id, c := range seen {
		if c != 1 {
			t.Fatalf("key pair %d deleted %d times", id, c)
		}
	}
	es := listAudit(t, s)
	verifyChain(t, es)
	if len(es) != n {
		t.Fatalf("%d audit entries, want %d", len(es), n)
	}
}

func testSearchAudit(t *testing.T, s keypair.Store) {
	for i := range 10 {
		e := testAudit(i)
		e.UserID = []string{"alice", "bob"}[i%2]
		e.KeyPairName = fmt.Sprintf("k%d", i%3)
		if i == 4 {
			e.ServerID, e.TaskID, e.Result, e.Detail = "server-1", "task-1", "FAILED_BIND", "connection refused"
		}
		if err := s.AppendAudit(t.Context(), e); err != nil {
			t.Fatal(err)
		}
	}
	all := listAudit(t, s)
	// SearchAudit reads entries whole, as ListAudit does, association
	// fields included.
	if es, err := s.SearchAudit(t.Context(), keypair.AuditFilter{Limit: 100}); err != nil || !reflect.DeepEqual(es, all) {
		t.Fatalf("SearchAudit of everything = %v (%v), ListAudit = %v", es, err, all)
	}
	count := func(f keypair.AuditFilter) int {
		t.Helper()
		if f.Limit == 0 {
			f.Limit = 100
		}
		es, err := s.SearchAudit(t.Context(), f)
		if err != nil {
			t.Fatalf("SearchAudit(%+v): %v", f, err)
		}
		for i := 1; i < len(es); i++ {
			if es[i].Seq <= es[i-1].Seq {
				t.Fatalf("SearchAudit out of order")
			}
		}
		return len(es)
	}
	for _, c := range []struct {
		f    keypair.AuditFilter
		want int
	}{
		{keypair.AuditFilter{}, 10},
		{keypair.AuditFilter{Limit: 3}, 3},
		{keypair.AuditFilter{AfterSeq: all[7].Seq}, 2},
		{keypair.AuditFilter{UserID: "alice"}, 5},
		{keypair.AuditFilter{KeyPairName: "k0"}, 4},
		{keypair.AuditFilter{Action: all[0].Action}, 2},
		{keypair.AuditFilter{Since: all[2].Time}, 8},
		{keypair.AuditFilter{Until: all[2].Time}, 2},
		{keypair.AuditFilter{UserID: "alice", KeyPairName: "k0"}, 2},
		{keypair.AuditFilter{UserID: "nobody\x00"}, 0},
	} {
		if got := count(c.f); got != c.want {
			t.Errorf("SearchAudit(%+v) = %d entries, want %d", c.f, got, c.want)
		}
	}
}
