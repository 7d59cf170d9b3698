package keypair

// Rotation (new key material under the same name and id) and expiry (the
// service deleting key pairs whose time is up).

import (
	"context"
	"regexp"
	"time"

	"github.com/keyhaven/keyhaven/sshkey"
)

// RotationFollower hears of committed rotations. It is the seam for the
// association of key pairs with servers: a rotation will push REPLACE
// tasks to the servers that carry the previous key. Those tasks belong in
// the rotation's own transaction (LifecycleStore.RotateKeyPair would take
// them, as it takes the audit entry); until tasks exist nothing
// implements this, and Config.AfterRotate stays nil.
type RotationFollower interface {
	// FollowRotation is called once the rotation of kp from previous has
	// committed.
	FollowRotation(ctx context.Context, kp *KeyPair, previous Previous) error
}

// RotateInput is what a caller gives a rotation: a spec to generate, or a
// public key to import (with its private key when the key pair keeps one
// in escrow).
type RotateInput struct {
	// Spec chooses what to generate when PublicKey is nil; nil: the
	// defaults.
	Spec *KeySpec
	// PublicKey to import; nil means generate.
	PublicKey *string
	// PrivateKey of an imported public key, needed when the key pair
	// keeps its private key in escrow.
	PrivateKey *string
	// Encryption, when not nil, re-escrows under it rather than under the
	// KMS key that sealed the previous private key.
	Encryption *Encryption
}

// Rotated is a key pair after a rotation: its private key when generated
// and not escrowed (returned once), and what it replaced.
type Rotated struct {
	KeyPair    *KeyPair
	PrivateKey string
	Previous   Previous
}

// refVersion is the version suffix of a KMS key ref ("local/name@v3"):
// a re-escrow seals under the key's current version.
var refVersion = regexp.MustCompile(`@v[0-9]+$`)

// Rotate gives the key pair called name new key material, atomically:
// the store swaps it in, keeps what it replaced as Previous and appends
// the audit entry in one transaction. A key pair whose private key was in
// escrow keeps the new one in escrow, under the same KMS key unless
// in.Encryption names another.
func (s *Service) Rotate(ctx context.Context, actor Actor, name string, in RotateInput) (*Rotated, error) {
	kp, err := s.resolve(ctx, actor, "", name, ActionUpdate)
	if err != nil {
		return nil, err
	}
	if kp.Type != TypeSSH {
		return nil, Errorf(EINVALID, "Only ssh key pairs can be rotated.")
	}
	escrowed := kp.Escrow != nil
	if in.PublicKey == nil && in.PrivateKey != nil {
		return nil, Errorf(EINVALID, "A private key can only be given with the public key it belongs to.")
	}
	if in.Encryption != nil {
		if !escrowed && in.PublicKey != nil && in.PrivateKey == nil {
			return nil, Errorf(EINVALID, "To keep an imported key pair's private key in escrow, give the private key.")
		}
		if err := checkEncryption(*in.Encryption); err != nil {
			return nil, err
		}
		if s.escrow == nil {
			return nil, Errorf(EINVALID, "This service keeps no private keys in escrow.").WithReason(ReasonEscrowUnsupported)
		}
		escrowed = true
	}
	r := Rotation{Escrowed: kp.Escrow != nil, At: s.now().UTC().Truncate(time.Microsecond)}
	var private string
	out := &Rotated{}
	if in.PublicKey != nil {
		if r.Fingerprint, r.Algorithm, err = describe(TypeSSH, *in.PublicKey); err != nil {
			return nil, err
		}
		r.PublicKey = *in.PublicKey
		if in.PrivateKey != nil {
			if err := matchPrivate(r.PublicKey, *in.PrivateKey); err != nil {
				return nil, err
			}
			private = *in.PrivateKey
		} else if escrowed {
			return nil, Errorf(EINVALID, "The key pair keeps its private key in escrow: give the new public key's private key.")
		}
	} else {
		spec := KeySpec{}
		if in.Spec != nil {
			spec = *in.Spec
		}
		var g *sshkey.Generated
		if g, err = s.generateSpec(ctx, spec); err != nil {
			return nil, err
		}
		r.PublicKey, r.Fingerprint, private = g.PublicKey, g.Fingerprint, g.PrivateKey
		if _, r.Algorithm, err = describe(TypeSSH, r.PublicKey); err != nil {
			return nil, err
		}
		out.PrivateKey = private
	}
	if escrowed && private != "" {
		enc := Encryption{Type: "default"}
		if in.Encryption != nil {
			enc = *in.Encryption
		} else if kp.Escrow != nil {
			enc = Encryption{Type: "kms", KMSKeyID: refVersion.ReplaceAllString(kp.Escrow.KeyRef, "")}
		}
		if r.Escrow, err = s.escrow.Seal(ctx, kp.UID, []byte(private), enc); err != nil {
			return nil, err
		}
		out.PrivateKey = "" // kept in escrow, not handed out
	}
	return s.commitRotation(ctx, actor, kp, r, out)
}

// commitRotation has the store swap r in and reports the outcome.
func (s *Service) commitRotation(ctx context.Context, actor Actor, kp *KeyPair, r Rotation, out *Rotated) (*Rotated, error) {
	prev, err := s.store.RotateKeyPair(ctx, kp.ID, r, s.entry(actor, kp, AuditRotate))
	if ErrorCode(err) == ENOTFOUND {
		return nil, NotFound(kp.Name, kp.UserID)
	}
	if err != nil {
		return nil, err
	}
	if s.follow != nil {
		// The rotation has committed and is the caller's answer; a
		// follower that fails retries on its own (tasks are durable).
		_ = s.follow.FollowRotation(ctx, kp, *prev)
	}
	kp.PublicKey, kp.Fingerprint, kp.Algorithm, kp.Escrow, kp.UpdatedAt = r.PublicKey, r.Fingerprint, r.Algorithm, r.Escrow, r.At
	if err := s.store.LoadDetails(ctx, []*KeyPair{kp}); err != nil {
		return nil, err
	}
	// What this rotation replaced, even if another has committed since.
	kp.Details.Previous = prev
	out.KeyPair, out.Previous = kp, *prev
	return out, nil
}

// ExpiryActor is who the audit log names for the service deleting expired
// key pairs.
const ExpiryActor = "keyhaven:expiry"

// ReapExpired deletes every key pair whose expiry has passed, each with
// its audit entry in the deletion's transaction, and drops previous key
// material whose grace period ended. It returns how many it deleted.
// Instances sharing a store may run it at once: each key pair is deleted
// and audited by one of them.
func (s *Service) ReapExpired(ctx context.Context, instance string) (int, error) {
	now := s.now().UTC()
	audit := func(kp *KeyPair) *AuditEntry {
		e := s.entry(Actor{UserID: ExpiryActor, RequestID: instance}, kp, AuditExpire)
		e.ProjectID = kp.ProjectID
		return e
	}
	total := 0
	for {
		gone, err := s.store.DeleteExpired(ctx, now, 100, audit)
		total += len(gone)
		if err != nil {
			return total, err
		}
		if len(gone) < 100 {
			break
		}
	}
	return total, s.store.ForgetPrevious(ctx, now.Add(-s.grace))
}

// RunReaper calls ReapExpired every interval until ctx ends, reporting
// each failure to report (which may be nil).
func (s *Service) RunReaper(ctx context.Context, interval time.Duration, instance string, report func(error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := s.ReapExpired(ctx, instance); err != nil && ctx.Err() == nil && report != nil {
			report(err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
