package keypair

// The life of an escrowed private key after its key pair was created:
// import (or re-seal), export, clear, and the rewrap of every one.

import (
	"context"

	"github.com/keyhaven/keyhaven/policy"
)

// ImportPrivateKey puts the private key of an existing key pair into
// escrow; it must be the private half of the key pair's public key. When
// the key pair keeps one already, the escrowed copy is re-sealed under
// p.Encryption instead (Huawei's clients change the encryption type or KMS
// key this way), audited as AuditReseal in the swap's own transaction; the
// same key under the same encryption again is a success too. A private key
// that does not match changes nothing.
func (s *Service) ImportPrivateKey(ctx context.Context, actor Actor, userID, name string, p Protection) (*KeyPair, error) {
	kp, err := s.resolve(ctx, actor, userID, name, ActionUpdate)
	if err != nil {
		return nil, err
	}
	if s.escrow == nil {
		return nil, Errorf(EINVALID, "This service keeps no private keys in escrow.").WithReason(ReasonEscrowUnsupported)
	}
	if kp.Type != TypeSSH {
		return nil, Errorf(EINVALID, "Only ssh key pairs can keep their private key in escrow.")
	}
	if p.PrivateKey == nil {
		return nil, Errorf(EINVALID, "The private key is required.")
	}
	if err := checkEncryption(p.Encryption); err != nil {
		return nil, err
	}
	if err := matchPrivate(kp.PublicKey, *p.PrivateKey); err != nil {
		return nil, err
	}
	sealed, err := s.escrow.Seal(ctx, kp.UID, []byte(*p.PrivateKey), p.Encryption)
	if err != nil {
		return nil, err
	}
	action := AuditImportPrivate
	if kp.Escrow != nil {
		action = AuditReseal
	}
	// Swapping from exactly what was read makes a concurrent import,
	// clear or rewrap an ECONFLICT rather than a lost update.
	if err := s.store.SwapEscrow(ctx, kp.ID, kp.Escrow, sealed, s.now().UTC(), s.entry(actor, kp, action)); err != nil {
		return nil, err
	}
	kp.Escrow = sealed
	return kp, nil
}

// ExportPrivateKey returns the escrowed private key of a key pair to its
// owner or an administrator, and records the reveal in the audit log
// before returning it.
func (s *Service) ExportPrivateKey(ctx context.Context, actor Actor, userID, name string) (string, error) {
	kp, err := s.resolve(ctx, actor, userID, name, ActionExport)
	if err != nil {
		return "", err
	}
	if kp.Escrow == nil {
		return "", Errorf(ENOTFOUND, "Key pair '%s' keeps no private key in escrow.", kp.Name).WithReason(ReasonNoPrivateKey)
	}
	if s.escrow == nil {
		return "", Errorf(EINVALID, "This service keeps no private keys in escrow.").WithReason(ReasonEscrowUnsupported)
	}
	private, err := s.escrow.Open(ctx, kp.UID, kp.Escrow)
	if err != nil {
		return "", err
	}
	// A reveal changes nothing in the store, so its entry is written on
	// its own, and before the key leaves: no entry, no key.
	if err := s.store.AppendAudit(ctx, s.entry(actor, kp, AuditExport)); err != nil {
		return "", err
	}
	return string(private), nil
}

// ClearPrivateKey destroys the escrowed copy of a key pair's private key;
// the key pair stays.
func (s *Service) ClearPrivateKey(ctx context.Context, actor Actor, name string) error {
	kp, err := s.resolve(ctx, actor, "", name, ActionUpdate)
	if err != nil {
		return err
	}
	if kp.Escrow == nil {
		return Errorf(ENOTFOUND, "Key pair '%s' keeps no private key in escrow.", kp.Name).WithReason(ReasonNoPrivateKey)
	}
	return s.store.SwapEscrow(ctx, kp.ID, kp.Escrow, nil, s.now().UTC(), s.entry(actor, kp, AuditClear))
}

// entry returns the audit entry of actor doing action to kp, for the store
// to append in the change's own transaction.
func (s *Service) entry(actor Actor, kp *KeyPair, action AuditAction) *AuditEntry {
	return &AuditEntry{Time: s.now().UTC(), Action: action, UserID: actor.UserID, ProjectID: actor.ProjectID,
		KeyPairID: kp.ID, KeyPairUID: kp.UID, KeyPairName: kp.Name, RemoteAddr: actor.RemoteAddr, RequestID: actor.RequestID}
}

// RewrapProgress reports a rewrap's advance: key pairs looked at, and
// re-wrapped, so far.
type RewrapProgress func(seen, rewrapped int)

// Rewrap re-wraps the data key of every escrowed private key under the KMS
// key toRef, online: each key pair is swapped atomically from its old
// sealing to its new one, so an interrupted run loses nothing and a rerun
// finishes the rest. Private keys are never decrypted.
func (s *Service) Rewrap(ctx context.Context, actor Actor, toRef string, progress RewrapProgress) error {
	if err := policy.Authorize(policy.IdentityAdmin, subject(actor), policy.Target{}); err != nil {
		return Forbidden(ActionUpdate)
	}
	if s.escrow == nil {
		return Errorf(EINVALID, "This service keeps no private keys in escrow.").WithReason(ReasonEscrowUnsupported)
	}
	seen, done := 0, 0
	var after int64
	for {
		batch, err := s.store.ListEscrowed(ctx, after, 100)
		if err != nil {
			return err
		}
		if len(batch) == 0 {
			return nil
		}
		for _, kp := range batch {
			after = kp.ID
			seen++
			next, err := s.escrow.Rewrap(ctx, kp.UID, kp.Escrow, toRef)
			if err != nil {
				return err
			}
			if next.KeyRef != kp.Escrow.KeyRef {
				err := s.store.SwapEscrow(ctx, kp.ID, kp.Escrow, next, s.now().UTC(), s.entry(actor, kp, AuditRewrap))
				// A key pair cleared or deleted meanwhile needs no rewrap.
				if c := ErrorCode(err); c != "" && c != ECONFLICT && c != ENOTFOUND {
					return err
				}
				if err == nil {
					done++
				}
			}
			if progress != nil {
				progress(seen, done)
			}
		}
	}
}

// directGenerator generates every key on demand with sshkey.
