package storetest

import (
	"bytes"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/keypair"
)

// testAudit returns a distinct audit entry fixture, its time in a zone
// other than UTC and to the microsecond.
func testAudit(i int) *keypair.AuditEntry {
	return &keypair.AuditEntry{
		Time:        time.Date(2030, 1, 2, 3, 4, 5, 0, time.FixedZone("UTC-5", -5*3600)).Add(time.Duration(i)*time.Second + 123456*time.Microsecond),
		Action:      []keypair.AuditAction{keypair.AuditExport, keypair.AuditCreateEscrowed, keypair.AuditClear, keypair.AuditRewrap, keypair.AuditImportPrivate}[i%5],
		UserID:      fmt.Sprint("user-", i%3),
		ProjectID:   project,
		KeyPairID:   int64(i + 1),
		KeyPairUID:  fmt.Sprint("uid-", i),
		KeyPairName: fmt.Sprint("key ", i),
		RemoteAddr:  "192.0.2.7:4711",
		RequestID:   fmt.Sprint("req-", i),
	}
}

// auditFields is an audit entry without its hashes, comparable with ==.
type auditFields struct {
	Seq                                            int64
	Time                                           time.Time
	Action                                         keypair.AuditAction
	UserID, ProjectID                              string
	KeyPairID                                      int64
	KeyPairUID, KeyPairName, RemoteAddr, RequestID string
}

// fields returns e without its hashes.
func fields(e *keypair.AuditEntry) auditFields {
	return auditFields{e.Seq, e.Time, e.Action, e.UserID, e.ProjectID, e.KeyPairID,
		e.KeyPairUID, e.KeyPairName, e.RemoteAddr, e.RequestID}
}

// auditDiff describes how got differs from want, "" when they are equal.
// got's time must be in UTC.
func auditDiff(got, want *keypair.AuditEntry) string {
	if got.Time.Location() != time.UTC {
		return fmt.Sprintf("Time location = %s, want UTC", got.Time.Location())
	}
	if !got.Time.Equal(want.Time) {
		return fmt.Sprintf("Time = %s, want %s", got.Time, want.Time)
	}
	if !bytes.Equal(got.PrevHash, want.PrevHash) || !bytes.Equal(got.Hash, want.Hash) {
		return fmt.Sprintf("hashes = %x, %x; want %x, %x", got.PrevHash, got.Hash, want.PrevHash, want.Hash)
	}
	g, w := fields(got), fields(want)
	g.Time, w.Time = time.Time{}, time.Time{}
	if g != w {
		return fmt.Sprintf("= %+v, want %+v", g, w)
	}
	return ""
}

// verifyChain fails the test unless es is the whole log: seq 1..len(es)
// without gaps, each PrevHash the previous Hash (32 zero bytes first), each
// Hash the entry's ComputeHash.
func verifyChain(t *testing.T, es []*keypair.AuditEntry) {
	t.Helper()
	prev := make([]byte, 32)
	for i, e := range es {
		if e.Seq != int64(i+1) {
			t.Fatalf("entry #%d has seq %d, want %d", i, e.Seq, i+1)
		}
		if !bytes.Equal(e.PrevHash, prev) {
			t.Fatalf("entry %d: PrevHash %x, want the previous hash %x", e.Seq, e.PrevHash, prev)
		}
		if h := e.ComputeHash(prev); !bytes.Equal(e.Hash, h) {
			t.Fatalf("entry %d: Hash %x, want ComputeHash %x", e.Seq, e.Hash, h)
		}
		prev = e.Hash
	}
}

// listAudit lists the whole log.
func listAudit(t *testing.T, s keypair.Store) []*keypair.AuditEntry {
	t.Helper()
	es, err := s.ListAudit(t.Context(), 0, 1000)
	if err != nil {
		t.Fatalf("ListAudit: %v", err)
	}
	return es
}

func testAuditChain(t *testing.T, s keypair.Store) {
	if es := listAudit(t, s); len(es) != 0 {
		t.Fatalf("a new store's audit log holds %d entries", len(es))
	}
	var appended []*keypair.AuditEntry
	for i := range 6 {
		e := testAudit(i)
		if i == 5 {
			e.KeyPairID, e.RemoteAddr, e.RequestID = 0, "", "" // optional fields empty
		}
		in := fields(e)
		if err := s.AppendAudit(t.Context(), e); err != nil {
			t.Fatalf("AppendAudit #%d: %v", i, err)
		}
		in.Seq = e.Seq
		if fields(e) != in {
			t.Errorf("AppendAudit changed more than Seq, PrevHash and Hash: %+v", e)
		}
		appended = append(appended, e)
	}
	verifyChain(t, appended)
	got := listAudit(t, s)
	if len(got) != len(appended) {
		t.Fatalf("ListAudit returned %d entries, want %d", len(got), len(appended))
	}
	for i := range got {
		if d := auditDiff(got[i], appended[i]); d != "" {
			t.Errorf("entry %d: %s", i+1, d)
		}
	}
	verifyChain(t, got)
}

func testAuditConcurrent(t *testing.T, s keypair.Store) {
	const n = 20
	es := make([]*keypair.AuditEntry, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		es[i] = testAudit(i)
		wg.Go(func() {
			<-start
			errs[i] = s.AppendAudit(t.Context(), es[i])
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("AppendAudit #%d: %v", i, err)
		}
	}
	got := listAudit(t, s)
	if len(got) != n {
		t.Fatalf("ListAudit returned %d entries after %d appends", len(got), n)
	}
	verifyChain(t, got)
	bySeq := map[int64]*keypair.AuditEntry{}
	for _, e := range es {
		if _, dup := bySeq[e.Seq]; dup {
			t.Fatalf("two appends got seq %d", e.Seq)
		}
		bySeq[e.Seq] = e
	}
	for _, g := range got {
		if w, ok := bySeq[g.Seq]; !ok {
			t.Errorf("no append was given seq %d", g.Seq)
		} else if d := auditDiff(g, w); d != "" {
			t.Errorf("entry %d: %s", g.Seq, d)
		}
	}
}

func testAuditPaging(t *testing.T, s keypair.Store) {
	const total, limit = 25, 10
	for i := range total {
		if err := s.AppendAudit(t.Context(), testAudit(i)); err != nil {
			t.Fatal(err)
		}
	}
	var all []*keypair.AuditEntry
	var sizes []int
	after := int64(0)
	for pages := 0; ; pages++ {
		if pages > total {
			t.Fatal("paging through ListAudit does not end")
		}
		page, err := s.ListAudit(t.Context(), after, limit)
		if err != nil {
			t.Fatalf("ListAudit(%d, %d): %v", after, limit, err)
		}
		sizes = append(sizes, len(page))
		all = append(all, page...)
		if len(page) < limit {
			break
		}
		after = page[len(page)-1].Seq
	}
	if !slices.Equal(sizes, []int{10, 10, 5}) {
		t.Errorf("page sizes = %v, want [10 10 5]", sizes)
	}
	if len(all) != total {
		t.Fatalf("pages hold %d entries, want %d", len(all), total)
	}
	verifyChain(t, all)
	page, err := s.ListAudit(t.Context(), 3, 2)
	if err != nil || len(page) != 2 || page[0].Seq != 4 || page[1].Seq != 5 {
		t.Errorf("ListAudit(3, 2) = %d entries, %v; want seq 4 and 5", len(page), err)
	}
	if page, err := s.ListAudit(t.Context(), total, limit); err != nil || len(page) != 0 {
		t.Errorf("ListAudit after the last = %d entries, %v; want none", len(page), err)
	}
}
