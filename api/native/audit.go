package native

import (
	"encoding/hex"
	"net/http"
	"strconv"

	"github.com/keyhaven/keyhaven/keypair"
)

// auditListView is a page of the audit log.
type auditListView struct {
	Entries []auditView `json:"entries"`
	// NextAfter, when not null, is the after of the next page.
	NextAfter *int64 `json:"next_after"`
}

// audit lists the audit log for administrators: GET /audit with the
// filters user_id, action, keypair, since, until and paging after, limit.
func (h *Handler) audit(q request, _ string) error {
	qs, err := query(q.r, "user_id", "action", "keypair", "since", "until", "after", "limit")
	if err != nil {
		return err
	}
	f := keypair.AuditFilter{UserID: qs.Get("user_id"), Action: keypair.AuditAction(qs.Get("action")), KeyPairName: qs.Get("keypair")}
	for _, s := range []string{f.UserID, f.KeyPairName} {
		if len(s) > 1024 || !validText(s) {
			return invalid("user_id and keypair must be text of at most 1024 bytes.")
		}
	}
	if f.Limit, err = intParam(qs, "limit", DefaultLimit, keypair.MaxListLimit); err != nil {
		return err
	}
	if qs.Has("after") {
		if f.AfterSeq, err = strconv.ParseInt(qs.Get("after"), 10, 64); err != nil || f.AfterSeq < 0 {
			return invalid("after must be the seq of an audit entry, a non-negative integer.")
		}
	}
	if qs.Has("since") {
		if f.Since, err = parseTime("since", qs.Get("since")); err != nil {
			return err
		}
	}
	if qs.Has("until") {
		if f.Until, err = parseTime("until", qs.Get("until")); err != nil {
			return err
		}
	}
	es, next, err := h.svc.SearchAudit(q.r.Context(), q.actor, f)
	if err != nil {
		return err
	}
	out := auditListView{Entries: []auditView{}}
	if next > 0 {
		out.NextAfter = &next
	}
	for _, e := range es {
		out.Entries = append(out.Entries, auditView{Seq: e.Seq, Time: e.Time, Action: string(e.Action), UserID: e.UserID,
			ProjectID: e.ProjectID, KeyPairID: e.KeyPairID, KeyPairUID: e.KeyPairUID, KeyPairName: e.KeyPairName,
			RemoteAddr: e.RemoteAddr, RequestID: e.RequestID, Hash: hex.EncodeToString(e.Hash),
			ServerID: e.ServerID, TaskID: e.TaskID, Result: e.Result, Detail: e.Detail})
	}
	writeJSON(q.w, http.StatusOK, out)
	return nil
}
