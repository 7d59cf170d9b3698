package identity

import (
	"net/http"

	"github.com/keyhaven/keyhaven/identity/builtin"
)

// The admin calls that take access away: deleting a user, and disabling
// (or otherwise changing) a project or a domain, as Keystone's
// DELETE /v3/users/{id}, PATCH /v3/projects/{id} and PATCH /v3/domains/{id}.

func (h *Handler) deleteUser(w http.ResponseWriter, r *http.Request, id string) error {
	if err := h.svc.DeleteUser(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) updateProject(w http.ResponseWriter, r *http.Request, base, id string) error {
	var req struct {
		Project *struct {
			Name        *string `json:"name"`
			Description *string `json:"description"`
			Enabled     *bool   `json:"enabled"`
		} `json:"project"`
	}
	if err := decode(r, &req); err != nil {
		return err
	}
	if req.Project == nil {
		return badRequest("Expecting to find project in the request body.")
	}
	p, err := h.svc.UpdateProject(r.Context(), id, builtin.ProjectChange{
		Name: req.Project.Name, Description: req.Project.Description, Enabled: req.Project.Enabled})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"project": h.viewProject(p, base)})
	return nil
}

func (h *Handler) updateDomain(w http.ResponseWriter, r *http.Request, base, id string) error {
	var req struct {
		Domain *struct {
			Name    *string `json:"name"`
			Enabled *bool   `json:"enabled"`
		} `json:"domain"`
	}
	if err := decode(r, &req); err != nil {
		return err
	}
	if req.Domain == nil {
		return badRequest("Expecting to find domain in the request body.")
	}
	d, err := h.svc.UpdateDomain(r.Context(), id, builtin.DomainChange{Name: req.Domain.Name, Enabled: req.Domain.Enabled})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"domain": viewDomain(d, base)})
	return nil
}
