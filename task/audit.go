package task

import (
	"github.com/keyhaven/keyhaven/keypair"
)

// audit is the audit entry of task t as it is now (accepted, or ended):
// who asked, which key pair, which server, the status reached and, for a
// failure, why (Task.AuditEntry). p, when not nil, adds where the request
// came from and the key pair's immutable id.
func (s *Service) audit(t *Task, p *pending) *keypair.AuditEntry {
	e := t.AuditEntry(s.now())
	if p != nil {
		e.KeyPairUID, e.RemoteAddr, e.RequestID = p.keyPairUID, p.remoteAddr, p.requestID
	}
	return e
}
