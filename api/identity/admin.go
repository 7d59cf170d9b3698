package identity

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/keyhaven/keyhaven/identity"
	"github.com/keyhaven/keyhaven/identity/builtin"
	"github.com/keyhaven/keyhaven/policy"
)

// The Keystone admin calls keyhaven answers, enough for `openstack user
// create`, `project create`, `role add` and `role assignment list`. All of
// them are for administrators.

func links(self string) map[string]any {
	return map[string]any{"self": self, "previous": nil, "next": nil}
}

func (h *Handler) viewUser(u *identity.User, base string) map[string]any {
	return map[string]any{"id": u.ID, "name": u.Name, "domain_id": u.DomainID, "enabled": u.Enabled,
		"password_expires_at": nil, "options": map[string]any{},
		"links": map[string]string{"self": base + "/identity/v3/users/" + u.ID}}
}

func (h *Handler) viewProject(p *identity.Project, base string) map[string]any {
	return map[string]any{"id": p.ID, "name": p.Name, "domain_id": p.DomainID, "description": p.Description,
		"enabled": p.Enabled, "is_domain": false, "parent_id": p.DomainID, "tags": []string{}, "options": map[string]any{},
		"links": map[string]string{"self": base + "/identity/v3/projects/" + p.ID}}
}

func viewDomain(d *identity.Domain, base string) map[string]any {
	return map[string]any{"id": d.ID, "name": d.Name, "description": "", "enabled": d.Enabled, "tags": []string{},
		"options": map[string]any{}, "links": map[string]string{"self": base + "/identity/v3/domains/" + d.ID}}
}

func viewRole(r *identity.Role, base string) map[string]any {
	return map[string]any{"id": r.ID, "name": r.Name, "domain_id": nil, "description": nil, "options": map[string]any{},
		"links": map[string]string{"self": base + "/identity/v3/roles/" + r.ID}}
}

// admin serves the admin calls under /v3; ok is false for paths it does
// not own.
func (h *Handler) admin(w http.ResponseWriter, r *http.Request, base string, segs []string) (bool, error) {
	switch segs[0] {
	case "domains", "users", "projects", "roles", "role_assignments":
	default:
		return false, nil
	}
	caller := h.caller
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		caller = h.freshCaller
	}
	p, err := caller(r)
	if err != nil {
		return true, err
	}
	if err := policy.Authorize(policy.IdentityAdmin, subject(p), policy.Target{}); err != nil {
		return true, err
	}
	ctx, st, q := r.Context(), h.svc.Store(), r.URL.Query()
	f := identity.Filter{DomainID: q.Get("domain_id"), Name: q.Get("name")}
	self := base + "/identity/v3/" + strings.Join(segs, "/")
	switch {
	case len(segs) == 1 && segs[0] == "domains" && r.Method == http.MethodGet:
		d, err := h.findDomain(ctx, f.Name)
		if err != nil {
			return true, err
		}
		list := []any{}
		for _, x := range d {
			list = append(list, viewDomain(x, base))
		}
		writeJSON(w, http.StatusOK, map[string]any{"domains": list, "links": links(self)})
	case len(segs) == 2 && segs[0] == "domains" && r.Method == http.MethodGet:
		d, err := st.GetDomain(ctx, segs[1])
		if err != nil {
			return true, err
		}
		writeJSON(w, http.StatusOK, map[string]any{"domain": viewDomain(d, base)})
	case len(segs) == 2 && segs[0] == "domains" && r.Method == http.MethodPatch:
		return true, h.updateDomain(w, r, base, segs[1])
	case len(segs) == 1 && segs[0] == "users" && r.Method == http.MethodGet:
		us, err := st.ListUsers(ctx, f)
		if err != nil {
			return true, err
		}
		list := []any{}
		for _, u := range us {
			list = append(list, h.viewUser(u, base))
		}
		writeJSON(w, http.StatusOK, map[string]any{"users": list, "links": links(self)})
	case len(segs) == 1 && segs[0] == "users" && r.Method == http.MethodPost:
		return true, h.createUser(w, r, base)
	case len(segs) == 2 && segs[0] == "users" && r.Method == http.MethodGet:
		u, err := st.GetUser(ctx, segs[1])
		if err != nil {
			return true, err
		}
		writeJSON(w, http.StatusOK, map[string]any{"user": h.viewUser(u, base)})
	case len(segs) == 2 && segs[0] == "users" && r.Method == http.MethodPatch:
		return true, h.updateUser(w, r, base, segs[1])
	case len(segs) == 2 && segs[0] == "users" && r.Method == http.MethodDelete:
		return true, h.deleteUser(w, r, segs[1])
	case len(segs) == 1 && segs[0] == "projects" && r.Method == http.MethodGet:
		ps, err := st.ListProjects(ctx, f)
		if err != nil {
			return true, err
		}
		list := []any{}
		for _, p := range ps {
			list = append(list, h.viewProject(p, base))
		}
		writeJSON(w, http.StatusOK, map[string]any{"projects": list, "links": links(self)})
	case len(segs) == 1 && segs[0] == "projects" && r.Method == http.MethodPost:
		return true, h.createProject(w, r, base)
	case len(segs) == 2 && segs[0] == "projects" && r.Method == http.MethodGet:
		p, err := st.GetProject(ctx, segs[1])
		if err != nil {
			return true, err
		}
		writeJSON(w, http.StatusOK, map[string]any{"project": h.viewProject(p, base)})
	case len(segs) == 2 && segs[0] == "projects" && r.Method == http.MethodPatch:
		return true, h.updateProject(w, r, base, segs[1])
	case len(segs) == 1 && segs[0] == "roles" && r.Method == http.MethodGet:
		rs, err := st.ListRoles(ctx)
		if err != nil {
			return true, err
		}
		list := []any{}
		for _, x := range rs {
			if f.Name == "" || x.Name == f.Name {
				list = append(list, viewRole(x, base))
			}
		}
		writeJSON(w, http.StatusOK, map[string]any{"roles": list, "links": links(self)})
	case len(segs) == 2 && segs[0] == "roles" && r.Method == http.MethodGet:
		x, err := st.GetRole(ctx, segs[1])
		if err != nil {
			return true, err
		}
		writeJSON(w, http.StatusOK, map[string]any{"role": viewRole(x, base)})
	case len(segs) == 6 && segs[0] == "projects" && segs[2] == "users" && segs[4] == "roles":
		return true, h.grant(w, r, segs[1], segs[3], segs[5])
	case len(segs) == 1 && segs[0] == "role_assignments" && r.Method == http.MethodGet:
		as, err := st.ListAssignments(ctx, identity.Filter{UserID: q.Get("user.id"), ProjectID: q.Get("scope.project.id")})
		if err != nil {
			return true, err
		}
		list := []any{}
		for _, a := range as {
			list = append(list, map[string]any{"role": map[string]string{"id": a.RoleID}, "user": map[string]string{"id": a.UserID},
				"scope": map[string]any{"project": map[string]string{"id": a.ProjectID}},
				"links": map[string]string{"assignment": base + "/identity/v3/projects/" + a.ProjectID + "/users/" + a.UserID + "/roles/" + a.RoleID}})
		}
		writeJSON(w, http.StatusOK, map[string]any{"role_assignments": list, "links": links(self)})
	default:
		return true, &httpError{status: http.StatusMethodNotAllowed, message: "The method is not allowed for the requested URL."}
	}
	return true, nil
}

func (h *Handler) findDomain(ctx context.Context, name string) ([]*identity.Domain, error) {
	if name == "" {
		d, err := h.svc.Store().GetDomain(ctx, builtin.DefaultDomainID)
		if err != nil {
			return nil, err
		}
		return []*identity.Domain{d}, nil
	}
	d, err := h.svc.Store().GetDomainByName(ctx, name)
	if errors.Is(err, identity.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return []*identity.Domain{d}, nil
}

func (h *Handler) createUser(w http.ResponseWriter, r *http.Request, base string) error {
	var req struct {
		User *struct {
			Name     string  `json:"name"`
			DomainID string  `json:"domain_id"`
			Password *string `json:"password"`
			Enabled  *bool   `json:"enabled"`
		} `json:"user"`
	}
	if err := decode(r, &req); err != nil {
		return err
	}
	if req.User == nil || req.User.Name == "" || req.User.Password == nil || *req.User.Password == "" {
		return badRequest("A user needs a name and a password.")
	}
	if req.User.DomainID == "" {
		req.User.DomainID = builtin.DefaultDomainID
	}
	if _, err := h.svc.Store().GetDomain(r.Context(), req.User.DomainID); err != nil {
		return err
	}
	u, err := h.svc.CreateUser(r.Context(), req.User.DomainID, req.User.Name, *req.User.Password)
	if err != nil {
		return err
	}
	if req.User.Enabled != nil && !*req.User.Enabled {
		off := false
		if u, err = h.svc.UpdateUser(r.Context(), u.ID, nil, nil, &off); err != nil {
			return err
		}
	}
	writeJSON(w, http.StatusCreated, map[string]any{"user": h.viewUser(u, base)})
	return nil
}

func (h *Handler) updateUser(w http.ResponseWriter, r *http.Request, base, id string) error {
	var req struct {
		User *struct {
			Name     *string `json:"name"`
			Password *string `json:"password"`
			Enabled  *bool   `json:"enabled"`
		} `json:"user"`
	}
	if err := decode(r, &req); err != nil {
		return err
	}
	if req.User == nil {
		return badRequest("Expecting to find user in the request body.")
	}
	u, err := h.svc.UpdateUser(r.Context(), id, req.User.Name, req.User.Password, req.User.Enabled)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"user": h.viewUser(u, base)})
	return nil
}

func (h *Handler) createProject(w http.ResponseWriter, r *http.Request, base string) error {
	var req struct {
		Project *struct {
			Name        string `json:"name"`
			DomainID    string `json:"domain_id"`
			Description string `json:"description"`
		} `json:"project"`
	}
	if err := decode(r, &req); err != nil {
		return err
	}
	if req.Project == nil || req.Project.Name == "" {
		return badRequest("A project needs a name.")
	}
	if req.Project.DomainID == "" {
		req.Project.DomainID = builtin.DefaultDomainID
	}
	if _, err := h.svc.Store().GetDomain(r.Context(), req.Project.DomainID); err != nil {
		return err
	}
	p, err := h.svc.CreateProject(r.Context(), req.Project.DomainID, req.Project.Name, req.Project.Description)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"project": h.viewProject(p, base)})
	return nil
}

// grant serves PUT (grant), HEAD/GET (check) and DELETE (revoke) of a role
// of a user on a project.
func (h *Handler) grant(w http.ResponseWriter, r *http.Request, projectID, userID, roleID string) error {
	ctx, st := r.Context(), h.svc.Store()
	a := identity.Assignment{UserID: userID, ProjectID: projectID, RoleID: roleID}
	switch r.Method {
	case http.MethodPut:
		if err := st.AddAssignment(ctx, a); err != nil {
			return err
		}
	case http.MethodDelete:
		if err := h.svc.Ungrant(ctx, a); err != nil {
			return err
		}
	case http.MethodGet, http.MethodHead:
		as, err := st.ListAssignments(ctx, identity.Filter{UserID: userID, ProjectID: projectID})
		if err != nil {
			return err
		}
		found := false
		for _, x := range as {
			found = found || x.RoleID == roleID
		}
		if !found {
			return identity.ErrNotFound
		}
	default:
		return notAllowed(w, "GET, HEAD, PUT, DELETE")
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
