package keypair

// The service side of keyhaven's own API: generation by type and format,
// details (tags, expiry), filtered listing and the audit search.

import (
	"context"
	"slices"
	"strconv"
	"time"

	"github.com/keyhaven/keyhaven/policy"
	"github.com/keyhaven/keyhaven/sshkey"
)

// DefaultRotationGrace is how long a rotation's previous key material is
// kept when the operator sets nothing else.
const DefaultRotationGrace = 7 * 24 * time.Hour

// ExpiryWarning is how close an expiry must be for keyhaven's own API to
// warn about it.
const ExpiryWarning = 7 * 24 * time.Hour

// MaxListLimit caps a native page.
const MaxListLimit = 1000

// SpecGenerator is a Generator that can also make key material by type
// and format; LimitGenerator's bound applies to it too.
type SpecGenerator interface {
	// GenerateSpec returns new material as spec asks, with its KPS
	// algorithm name.
	GenerateSpec(ctx context.Context, spec KeySpec) (*sshkey.Generated, string, error)
}

// GenerateSpec implements SpecGenerator.
func (directGenerator) GenerateSpec(_ context.Context, spec KeySpec) (*sshkey.Generated, string, error) {
	return generate(spec)
}

// GenerateSpec implements SpecGenerator within the generator's bound.
func (g *limitedGenerator) GenerateSpec(ctx context.Context, spec KeySpec) (*sshkey.Generated, string, error) {
	if _, _, err := checkSpec(spec); err != nil {
		return nil, "", err // refused before it takes a slot
	}
	release, err := g.limit.acquire(ctx)
	if err != nil {
		return nil, "", err
	}
	defer release()
	if sg, ok := g.next.(SpecGenerator); ok {
		return sg.GenerateSpec(ctx, spec)
	}
	return generate(spec)
}

// generateSpec generates with the configured generator when it knows
// specs, directly otherwise.
func (s *Service) generateSpec(ctx context.Context, spec KeySpec) (*sshkey.Generated, error) {
	var g *sshkey.Generated
	var err error
	if sg, ok := s.gen.(SpecGenerator); ok {
		g, _, err = sg.GenerateSpec(ctx, spec)
	} else {
		g, _, err = generate(spec)
	}
	return g, err
}

// CheckSpec refuses a type or format keyhaven cannot generate, before any
// other work.
func CheckSpec(spec KeySpec) error {
	_, _, err := checkSpec(spec)
	return err
}

// checkDetails validates a create's tags and expiry.
func (s *Service) checkDetails(typ Type, in CreateInput) (Details, error) {
	var d Details
	if in.Spec != nil && in.PublicKey == nil {
		if typ != TypeSSH {
			return d, Errorf(EINVALID, "A key type can only be chosen for ssh key pairs.")
		}
		if err := CheckSpec(*in.Spec); err != nil {
			return d, err
		}
	}
	tags, err := ValidateTags(in.Tags)
	if err != nil {
		return d, err
	}
	if len(tags) > 0 {
		d.Tags = tags
	}
	if in.ExpiresAt != nil {
		if err := CheckExpiry(*in.ExpiresAt, s.now()); err != nil {
			return d, err
		}
		at := in.ExpiresAt.UTC().Truncate(time.Microsecond)
		d.ExpiresAt = &at
	}
	return d, nil
}

// NativeFilter is a Filter plus what only the domain can match: the
// SHA-256 fingerprint, which the store does not keep.
type NativeFilter struct {
	Filter
	// FingerprintSHA256 matches "SHA256:…" as ssh-keygen -l prints it.
	FingerprintSHA256 string
}

// SHA256 returns the SHA-256 fingerprint of an ssh public key line, or ""
// for anything else.
func SHA256(public string) string {
	pk, err := sshkey.ParseAuthorizedKey(public)
	if err != nil {
		return ""
	}
	return pk.FingerprintSHA256()
}

// ListScope says whose key pairs a native list covers.
type ListScope struct {
	// UserID, when an administrator names one, lists that user's own.
	UserID string
	// Everyone, for administrators, lists every owner's key pairs.
	Everyone bool
}

// ListDetailed returns up to limit key pairs the caller sees (or that
// scope names, for an administrator), after the position after, matching
// f and not expired, and the position of the next page (zero at the end).
func (s *Service) ListDetailed(ctx context.Context, actor Actor, scope ListScope, f NativeFilter, after Position, limit int) ([]*KeyPair, Position, error) {
	var v *Viewer
	if scope.Everyone {
		if err := policy.Authorize(policy.IdentityAdmin, subject(actor), policy.Target{}); err != nil {
			return nil, Position{}, Forbidden(ActionList)
		}
	} else {
		user, err := owner(actor, scope.UserID, ActionList)
		if err != nil {
			return nil, Position{}, err
		}
		vw := viewer(actor, user)
		v = &vw
	}
	if limit <= 0 || limit > MaxListLimit {
		return nil, Position{}, Errorf(EINVALID, "limit must be 1 to %d.", MaxListLimit)
	}
	now := s.now().UTC()
	if f.FingerprintSHA256 == "" {
		kps, err := s.store.ListDetailed(ctx, v, f.Filter, after, limit+1, now)
		if err != nil {
			return nil, Position{}, err
		}
		return s.page(kps, limit, now)
	}
	// The store keeps no SHA-256 fingerprint: walk the matching pages and
	// keep the key pairs whose key hashes to it.
	const batch = 200
	var out []*KeyPair
	for {
		kps, err := s.store.ListDetailed(ctx, v, f.Filter, after, batch, now)
		if err != nil {
			return nil, Position{}, err
		}
		for _, kp := range kps {
			if SHA256(kp.PublicKey) == f.FingerprintSHA256 {
				out = append(out, kp)
			}
		}
		if len(out) > limit || len(kps) < batch {
			return s.page(out, limit, now)
		}
		last := kps[len(kps)-1]
		after = Position{Name: last.Name, ID: last.ID}
	}
}

// page cuts kps to limit and gives the position of the next page.
func (s *Service) page(kps []*KeyPair, limit int, now time.Time) ([]*KeyPair, Position, error) {
	var next Position
	if len(kps) > limit {
		kps = kps[:limit]
		next = Position{Name: kps[limit-1].Name, ID: kps[limit-1].ID}
	}
	for _, kp := range kps {
		s.trimPrevious(kp, now)
	}
	return kps, next, nil
}

// trimPrevious hides previous material whose grace period has ended but
// that the reaper has not dropped yet.
func (s *Service) trimPrevious(kp *KeyPair, now time.Time) {
	if p := kp.Details.Previous; p != nil && !p.RotatedAt.Add(s.grace).After(now) {
		kp.Details.Previous = nil
	}
}

// GetDetailed returns the key pair called name that the caller sees, with
// its Details; an expired one is not found.
func (s *Service) GetDetailed(ctx context.Context, actor Actor, userID, name string) (*KeyPair, error) {
	kp, err := s.Get(ctx, actor, userID, name)
	if err != nil {
		return nil, err
	}
	if err := s.store.LoadDetails(ctx, []*KeyPair{kp}); err != nil {
		return nil, err
	}
	now := s.now().UTC()
	if at := kp.Details.ExpiresAt; at != nil && !at.After(now) {
		return nil, NotFound(name, kp.UserID)
	}
	s.trimPrevious(kp, now)
	return kp, nil
}

// UpdateDetails changes the description, tags or expiry of a key pair the
// caller may change, and returns it as it is afterwards.
func (s *Service) UpdateDetails(ctx context.Context, actor Actor, name string, u DetailsUpdate) (*KeyPair, error) {
	kp, err := s.resolve(ctx, actor, "", name, ActionUpdate)
	if err != nil {
		return nil, err
	}
	if u.Tags != nil {
		tags, err := ValidateTags(*u.Tags)
		if err != nil {
			return nil, err
		}
		u.Tags = &tags
	}
	if u.Expiry != nil && *u.Expiry != nil {
		if err := CheckExpiry(**u.Expiry, s.now()); err != nil {
			return nil, err
		}
		at := (**u.Expiry).UTC().Truncate(time.Microsecond)
		p := &at
		u.Expiry = &p
	}
	if err := s.store.UpdateDetails(ctx, kp.ID, u, s.now().UTC()); err != nil {
		return nil, err
	}
	return s.GetDetailed(ctx, actor, kp.UserID, name)
}

// Warnings returns what keyhaven's own API warns about a key pair: an
// expiry within ExpiryWarning.
func Warnings(kp *KeyPair, now time.Time) []string {
	at := kp.Details.ExpiresAt
	if at == nil || at.Sub(now) > ExpiryWarning {
		return nil
	}
	left := at.Sub(now)
	switch days := int(left.Hours() / 24); {
	case days >= 1:
		return []string{"expires in " + plural(days, "day")}
	case left >= time.Hour:
		return []string{"expires in " + plural(int(left.Hours()), "hour")}
	}
	return []string{"expires in less than an hour"}
}

func plural(n int, unit string) string {
	s := strconv.Itoa(n) + " " + unit
	if n != 1 {
		s += "s"
	}
	return s
}

// SearchAudit returns, for administrators, up to f.Limit audit entries f
// selects and the AfterSeq of the next page (0 at the end).
func (s *Service) SearchAudit(ctx context.Context, actor Actor, f AuditFilter) ([]*AuditEntry, int64, error) {
	if err := policy.Authorize(policy.IdentityAdmin, subject(actor), policy.Target{}); err != nil {
		return nil, 0, Forbidden(ActionList)
	}
	if f.Limit <= 0 || f.Limit > MaxListLimit {
		return nil, 0, Errorf(EINVALID, "limit must be 1 to %d.", MaxListLimit)
	}
	if f.Action != "" && !slices.Contains(AuditActions, f.Action) {
		return nil, 0, Errorf(EINVALID, "The audit action %q is unknown.", f.Action)
	}
	limit := f.Limit
	f.Limit++ // one more tells whether there is a next page
	es, err := s.store.SearchAudit(ctx, f)
	if err != nil || len(es) <= limit {
		return es, 0, err
	}
	es = es[:limit]
	return es, es[limit-1].Seq, nil
}

// GenerateSpec implements SpecGenerator through the bounded generator the
// pool falls back on: the pool holds Nova's RSA-2048 material only, and a
// native request must not escape the generation bound.
func (g pooledGenerator) GenerateSpec(ctx context.Context, spec KeySpec) (*sshkey.Generated, string, error) {
	if sg, ok := g.Generator.(SpecGenerator); ok {
		return sg.GenerateSpec(ctx, spec)
	}
	return generate(spec)
}
