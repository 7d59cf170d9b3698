package task

import (
	"github.com/keyhaven/keyhaven/keypair"
)

// The audit actions of association tasks.
const (
	AuditAssociateAction    keypair.AuditAction = "associate"
	AuditDisassociateAction keypair.AuditAction = "disassociate"
)

// actionOf is the audit action of a task's operation.
func actionOf(op Operation) keypair.AuditAction {
	if op == Unbind {
		return AuditDisassociateAction
	}
	return AuditAssociateAction
}

// audit is the audit entry of task t as it is now (accepted, or ended):
// who asked, which key pair, which server, the status reached and, for a
// failure, why. p, when not nil, adds where the request came from.
func (s *Service) audit(t *Task, p *pending, action keypair.AuditAction) *keypair.AuditEntry {
	e := &keypair.AuditEntry{Time: s.now().UTC(), Action: action, UserID: t.UserID, ProjectID: t.ProjectID,
		KeyPairID: t.KeyPairID, KeyPairName: t.KeyPairName}
	if p != nil {
		e.KeyPairUID, e.RemoteAddr, e.RequestID = p.keyPairUID, p.remoteAddr, p.requestID
	}
	return e
}
