package metrics

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/keyhaven/keyhaven/identity"
	"github.com/keyhaven/keyhaven/keypair"
)

// Authenticator counts the requests a counts as refused under method
// ("token" or "aksk"). Failures other than refused credentials (a store
// outage) are not authentication failures and are not counted.
func (m *Metrics) Authenticator(method string, a identity.Authenticator) identity.Authenticator {
	return countingAuth{next: a, failures: m.authFailures.WithLabelValues(method)}
}

type countingAuth struct {
	next     identity.Authenticator
	failures interface{ Inc() }
}

func (c countingAuth) Authenticate(ctx context.Context, r *http.Request) (identity.Principal, error) {
	p, err := c.next.Authenticate(ctx, r)
	if err != nil && errors.Is(err, identity.ErrUnauthenticated) {
		c.failures.Inc()
	}
	return p, err
}

// Escrow measures every call of e, each of which wraps or unwraps a data
// key in the KMS.
func (m *Metrics) Escrow(e keypair.Escrow) keypair.Escrow { return timedEscrow{next: e, m: m} }

type timedEscrow struct {
	next keypair.Escrow
	m    *Metrics
}

func (t timedEscrow) observe(op string, start time.Time, err error) {
	t.m.kmsLatency.WithLabelValues(op).Observe(time.Since(start).Seconds())
	if err != nil {
		t.m.kmsErrors.WithLabelValues(op).Inc()
	}
}

func (t timedEscrow) Seal(ctx context.Context, uid string, privateKey []byte, enc keypair.Encryption) (*keypair.Escrowed, error) {
	start := time.Now()
	e, err := t.next.Seal(ctx, uid, privateKey, enc)
	t.observe("seal", start, err)
	return e, err
}

func (t timedEscrow) Open(ctx context.Context, uid string, e *keypair.Escrowed) ([]byte, error) {
	start := time.Now()
	b, err := t.next.Open(ctx, uid, e)
	t.observe("open", start, err)
	return b, err
}

func (t timedEscrow) Rewrap(ctx context.Context, uid string, e *keypair.Escrowed, toRef string) (*keypair.Escrowed, error) {
	start := time.Now()
	out, err := t.next.Rewrap(ctx, uid, e, toRef)
	t.observe("rewrap", start, err)
	return out, err
}

// Store counts the calls made to st, each one transaction. Outcomes the
// callers expect (not found, conflict, quota) count as errors too: they
// are the transactions that changed nothing.
func (m *Metrics) Store(st keypair.Store) keypair.Store { return countingStore{Store: st, m: m} }

type countingStore struct {
	keypair.Store
	m *Metrics
}

func (c countingStore) count(op string, err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	c.m.storeCalls.WithLabelValues(op, result).Inc()
}

func (c countingStore) CreateKeyPair(ctx context.Context, kp *keypair.KeyPair, quota int, audit *keypair.AuditEntry) error {
	err := c.Store.CreateKeyPair(ctx, kp, quota, audit)
	c.count("create", err)
	return err
}

func (c countingStore) GetKeyPair(ctx context.Context, v keypair.Viewer, name string) (*keypair.KeyPair, error) {
	kp, err := c.Store.GetKeyPair(ctx, v, name)
	c.count("get", err)
	return kp, err
}

func (c countingStore) ListKeyPairs(ctx context.Context, v keypair.Viewer, page keypair.Page) ([]keypair.Listed, error) {
	kps, err := c.Store.ListKeyPairs(ctx, v, page)
	c.count("list", err)
	return kps, err
}

func (c countingStore) CountKeyPairs(ctx context.Context, userID string) (int, error) {
	n, err := c.Store.CountKeyPairs(ctx, userID)
	c.count("count", err)
	return n, err
}

func (c countingStore) DeleteKeyPair(ctx context.Context, id int64, audit *keypair.AuditEntry) error {
	err := c.Store.DeleteKeyPair(ctx, id, audit)
	c.count("delete", err)
	return err
}

func (c countingStore) UpdateDescription(ctx context.Context, id int64, description string, now time.Time) error {
	err := c.Store.UpdateDescription(ctx, id, description, now)
	c.count("update_description", err)
	return err
}

func (c countingStore) SwapEscrow(ctx context.Context, id int64, old, next *keypair.Escrowed, now time.Time, audit *keypair.AuditEntry) error {
	err := c.Store.SwapEscrow(ctx, id, old, next, now, audit)
	c.count("swap_escrow", err)
	return err
}

func (c countingStore) AppendAudit(ctx context.Context, e *keypair.AuditEntry) error {
	err := c.Store.AppendAudit(ctx, e)
	c.count("append_audit", err)
	return err
}
