package identity

import (
	"net/http"
	"slices"

	"github.com/keyhaven/keyhaven/identity/builtin"
	"github.com/keyhaven/keyhaven/policy"
)

// authRequest is Keystone's POST /v3/auth/tokens body, the parts keyhaven
// supports.
type authRequest struct {
	Auth *struct {
		Identity *struct {
			Methods  []string `json:"methods"`
			Password *struct {
				User *struct {
					ID       string    `json:"id"`
					Name     string    `json:"name"`
					Password *string   `json:"password"`
					Domain   *namedRef `json:"domain"`
				} `json:"user"`
			} `json:"password"`
			Token *struct {
				ID string `json:"id"`
			} `json:"token"`
		} `json:"identity"`
		Scope any `json:"scope"`
	} `json:"auth"`
}

type namedRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// scopeOf reads the scope: absent or "unscoped" means unscoped; a project
// by id or by name and domain; domain and system scopes are not offered.
func scopeOf(raw any) (builtin.Scope, error) {
	var sc builtin.Scope
	switch v := raw.(type) {
	case nil:
		return sc, nil
	case string:
		if v == "unscoped" {
			return sc, nil
		}
	case map[string]any:
		p, ok := v["project"].(map[string]any)
		if !ok {
			if _, dom := v["domain"]; dom {
				return sc, badRequest("keyhaven issues project-scoped and unscoped tokens only; scope to a project.")
			}
			if _, sys := v["system"]; sys {
				return sc, badRequest("keyhaven issues project-scoped and unscoped tokens only; scope to a project.")
			}
			break
		}
		sc.ProjectID, _ = p["id"].(string)
		sc.ProjectName, _ = p["name"].(string)
		if d, ok := p["domain"].(map[string]any); ok {
			sc.DomainID, _ = d["id"].(string)
			sc.DomainName, _ = d["name"].(string)
		}
		if sc.ProjectID == "" && (sc.ProjectName == "" || (sc.DomainID == "" && sc.DomainName == "")) {
			return sc, badRequest("A project scope needs the project's id, or its name and its domain's id or name.")
		}
		return sc, nil
	}
	return sc, badRequest("Invalid scope: expected a project.")
}

func (h *Handler) issue(w http.ResponseWriter, r *http.Request, base string) error {
	var req authRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if req.Auth == nil || req.Auth.Identity == nil {
		return badRequest("Expecting to find identity in auth.")
	}
	id := req.Auth.Identity
	scope, err := scopeOf(req.Auth.Scope)
	if err != nil {
		return err
	}
	var t *builtin.Token
	switch {
	case slices.Contains(id.Methods, "password"):
		if id.Password == nil || id.Password.User == nil || id.Password.User.Password == nil {
			return badRequest("Expecting to find user and password in the password method.")
		}
		u := id.Password.User
		ref := builtin.UserRef{ID: u.ID, Name: u.Name}
		if u.Domain != nil {
			ref.DomainID, ref.DomainName = u.Domain.ID, u.Domain.Name
		}
		if ref.ID == "" && (ref.Name == "" || (ref.DomainID == "" && ref.DomainName == "")) {
			return badRequest("A user needs an id, or a name and its domain's id or name.")
		}
		t, err = h.svc.AuthPasswordFrom(r.Context(), r.RemoteAddr, ref, *u.Password, scope)
	case slices.Contains(id.Methods, "token"):
		tok := r.Header.Get("X-Auth-Token")
		if id.Token != nil && id.Token.ID != "" {
			tok = id.Token.ID
		}
		if tok == "" {
			return badRequest("Expecting to find a token id in the token method.")
		}
		t, err = h.svc.AuthToken(r.Context(), tok, scope)
	default:
		return &httpError{status: http.StatusUnauthorized, message: "Attempted to authenticate with an unsupported method."}
	}
	if err != nil {
		return err
	}
	w.Header().Set("X-Subject-Token", t.ID)
	_, nocatalog := r.URL.Query()["nocatalog"]
	writeJSON(w, http.StatusCreated, h.viewToken(t, base, !nocatalog))
	return nil
}

// subjectToken authorises a token request: the caller's own token may
// always be checked or revoked, anyone else's only by an admin.
func (h *Handler) subjectToken(r *http.Request, action policy.Action) (*builtin.Token, error) {
	p, err := h.caller(r)
	if err != nil {
		return nil, err
	}
	subj := r.Header.Get("X-Subject-Token")
	if subj == "" {
		return nil, badRequest("X-Subject-Token is required.")
	}
	t, err := h.svc.Validate(r.Context(), subj)
	if err != nil {
		return nil, err
	}
	if err := policy.Authorize(action, subject(p), policy.Target{UserID: t.User.ID}); err != nil {
		return nil, err
	}
	return t, nil
}

func (h *Handler) validate(w http.ResponseWriter, r *http.Request, base string) error {
	t, err := h.subjectToken(r, policy.TokenValidate)
	if err != nil {
		return err
	}
	w.Header().Set("X-Subject-Token", r.Header.Get("X-Subject-Token"))
	if r.Method == http.MethodHead {
		w.WriteHeader(http.StatusOK)
		return nil
	}
	_, nocatalog := r.URL.Query()["nocatalog"]
	writeJSON(w, http.StatusOK, h.viewToken(t, base, !nocatalog))
	return nil
}

func (h *Handler) revoke(w http.ResponseWriter, r *http.Request) error {
	if _, err := h.subjectToken(r, policy.TokenRevoke); err != nil {
		return err
	}
	if err := h.svc.Revoke(r.Context(), r.Header.Get("X-Subject-Token")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
