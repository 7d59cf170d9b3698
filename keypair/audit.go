package keypair

import (
	"crypto/sha256"
	"encoding/binary"
	"time"
)

// AuditAction names what an audit entry records.
type AuditAction string

// The audited actions: every reveal of a private key and every change to
// the escrowed copy.
const (
	AuditCreateEscrowed AuditAction = "create-escrowed"
	AuditImportPrivate  AuditAction = "import-private-key"
	AuditExport         AuditAction = "export-private-key"
	AuditClear          AuditAction = "clear-private-key"
	AuditRewrap         AuditAction = "rewrap"
	// AuditReseal records a private key imported again into a key pair
	// that kept one: the escrowed copy re-sealed under the encryption the
	// request named (another KMS key, or the same one).
	AuditReseal AuditAction = "reseal"
	// AuditDeleteEscrowed records the deletion of a key pair that held a
	// private key in escrow, which destroys the sealed copy.
	AuditDeleteEscrowed AuditAction = "delete-escrowed"
	// AuditAssociate records a task that puts a key pair on a server
	// (BIND, REPLACE, RESET): once when it is accepted and once when it
	// ends, with ServerID, TaskID and Result set.
	AuditAssociate AuditAction = "associate"
	// AuditDisassociate records a task that takes a key pair off a server
	// (UNBIND), as AuditAssociate does.
	AuditDisassociate AuditAction = "disassociate"
	// AuditRotate records new key material under a key pair's name and id
	// (keyhaven's own API), in the rotation's transaction.
	AuditRotate AuditAction = "rotate"
	// AuditExpire records the service deleting a key pair whose expiry
	// passed, in the deletion's transaction.
	AuditExpire AuditAction = "expire"
)

// AuditActions lists every audited action.
var AuditActions = []AuditAction{AuditCreateEscrowed, AuditImportPrivate, AuditExport, AuditClear,
	AuditRewrap, AuditReseal, AuditDeleteEscrowed, AuditAssociate, AuditDisassociate, AuditRotate, AuditExpire}

// AuditEntry is one line of the append-only, hash-chained audit log.
type AuditEntry struct {
	// Seq is the entry's position, assigned by the store from 1.
	Seq int64
	// Time is when the action happened, UTC.
	Time time.Time
	// Action is what happened.
	Action AuditAction
	// UserID and ProjectID are who did it.
	UserID, ProjectID string
	// KeyPairID, KeyPairUID and KeyPairName say to which key pair.
	KeyPairID   int64
	KeyPairUID  string
	KeyPairName string
	// RemoteAddr and RequestID say from where, and which request.
	RemoteAddr, RequestID string
	// ServerID and TaskID say on which server, by which task, an
	// association happened; empty for entries about key pairs alone.
	ServerID, TaskID string
	// Result is the outcome an association entry records, the task's
	// status as clients see it (READY_BIND when accepted, SUCCESS_BIND or
	// FAILED_BIND when it ended); Detail says why it failed. Both empty
	// for other entries.
	Result, Detail string
	// PrevHash is the previous entry's Hash (32 zero bytes for the first),
	// Hash this entry's: tampering with any entry breaks every later link.
	PrevHash, Hash []byte
}

// ComputeHash returns the hash of e chained to prev: SHA-256 over prev and
// every field but Hash, each length-prefixed so no two entries encode
// alike. Every store computes it the same way, inside the append's
// transaction.
//
// The fields added for associations (ServerID, TaskID, Result, Detail)
// are hashed only when not empty, each after a tag naming it, so every
// entry written before they existed keeps its hash and old chains still
// verify, while no two entries with different values encode alike.
func (e *AuditEntry) ComputeHash(prev []byte) []byte {
	h := sha256.New()
	field := func(b []byte) {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	num := func(v int64) {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(v))
		field(n[:])
	}
	field(prev)
	num(e.Seq)
	num(e.Time.UTC().UnixMicro())
	for _, s := range []string{string(e.Action), e.UserID, e.ProjectID, e.KeyPairUID, e.KeyPairName, e.RemoteAddr, e.RequestID} {
		field([]byte(s))
	}
	num(e.KeyPairID)
	for _, f := range [...]struct{ tag, value string }{
		{"server_id", e.ServerID}, {"task_id", e.TaskID}, {"result", e.Result}, {"detail", e.Detail},
	} {
		if f.value != "" {
			field([]byte(f.tag))
			field([]byte(f.value))
		}
	}
	return h.Sum(nil)
}
