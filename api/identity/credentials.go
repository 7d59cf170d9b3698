package identity

import (
	"net/http"
	"strings"

	"github.com/keyhaven/keyhaven/policy"
)

// credentials serves /v3/users/{user_id}/credentials/OS-EC2[/{access}].
func (h *Handler) credentials(w http.ResponseWriter, r *http.Request, base, rest string) error {
	parts := strings.Split(rest, "/")
	if len(parts) < 3 || len(parts) > 4 || parts[1] != "credentials" || parts[2] != "OS-EC2" || parts[0] == "" {
		return &httpError{status: http.StatusNotFound, message: "The resource could not be found."}
	}
	userID := parts[0]
	access := ""
	if len(parts) == 4 {
		access = parts[3]
	}
	caller := h.caller
	if r.Method == http.MethodPost {
		// A new credential outlives even a password change.
		caller = h.freshCaller
	}
	p, err := caller(r)
	if err != nil {
		return err
	}
	var action policy.Action
	switch {
	case access == "" && r.Method == http.MethodPost:
		action = policy.CredentialCreate
	case access == "" && r.Method == http.MethodGet:
		action = policy.CredentialList
	case access != "" && r.Method == http.MethodGet:
		action = policy.CredentialShow
	case access != "" && r.Method == http.MethodDelete:
		action = policy.CredentialDelete
	case access == "":
		return notAllowed(w, "GET, POST")
	default:
		return notAllowed(w, "GET, DELETE")
	}
	if err := policy.Authorize(action, subject(p), policy.Target{UserID: userID}); err != nil {
		return err
	}
	ctx := r.Context()
	switch action {
	case policy.CredentialCreate:
		var req struct {
			TenantID *string `json:"tenant_id"`
		}
		if err := decode(r, &req); err != nil {
			return err
		}
		if req.TenantID == nil || *req.TenantID == "" {
			return badRequest("tenant_id is required: the project the credential acts in.")
		}
		c, err := h.svc.CreateEC2(ctx, userID, *req.TenantID)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusCreated, map[string]any{"credential": viewCredential(c, base)})
	case policy.CredentialList:
		cs, err := h.svc.ListEC2(ctx, userID)
		if err != nil {
			return err
		}
		views := make([]credentialView, 0, len(cs))
		for _, c := range cs {
			views = append(views, viewCredential(c, base))
		}
		writeJSON(w, http.StatusOK, map[string]any{"credentials": views, "links": map[string]any{
			"self": base + "/identity/v3/users/" + userID + "/credentials/OS-EC2", "previous": nil, "next": nil}})
	case policy.CredentialShow:
		c, err := h.svc.GetEC2(ctx, userID, access)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, map[string]any{"credential": viewCredential(c, base)})
	case policy.CredentialDelete:
		if err := h.svc.DeleteEC2(ctx, userID, access); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
	}
	return nil
}
