package identity

import (
	"crypto/sha256"
	"encoding/hex"

	"github.com/keyhaven/keyhaven/identity"
	"github.com/keyhaven/keyhaven/identity/builtin"
)

// timeFormat is how Keystone prints token times.
const timeFormat = "2006-01-02T15:04:05.000000Z"

// Keystone v3.14 is Zed's identity API version.
const apiVersion = "v3.14"

func versionDoc(base string) map[string]any {
	return map[string]any{
		"id": apiVersion, "status": "stable", "updated": "2020-04-07T00:00:00Z",
		"links":       []map[string]string{{"rel": "self", "href": base + "/identity/v3/"}},
		"media-types": []map[string]string{{"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}},
	}
}

type domainRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type userView struct {
	Domain            domainRef `json:"domain"`
	ID                string    `json:"id"`
	Name              string    `json:"name"`
	PasswordExpiresAt *string   `json:"password_expires_at"`
}

type projectView struct {
	Domain domainRef `json:"domain"`
	ID     string    `json:"id"`
	Name   string    `json:"name"`
}

type roleView struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type endpointView struct {
	ID        string `json:"id"`
	Interface string `json:"interface"`
	RegionID  string `json:"region_id"`
	Region    string `json:"region"`
	URL       string `json:"url"`
}

type serviceView struct {
	Endpoints []endpointView `json:"endpoints"`
	ID        string         `json:"id"`
	Type      string         `json:"type"`
	Name      string         `json:"name"`
}

type tokenView struct {
	Methods   []string      `json:"methods"`
	User      userView      `json:"user"`
	AuditIDs  []string      `json:"audit_ids"`
	ExpiresAt string        `json:"expires_at"`
	IssuedAt  string        `json:"issued_at"`
	Project   *projectView  `json:"project,omitempty"`
	IsDomain  *bool         `json:"is_domain,omitempty"`
	Roles     []roleView    `json:"roles,omitempty"`
	Catalog   []serviceView `json:"catalog,omitempty"`
}

// stableID derives an id from parts, so catalog ids stay the same across
// restarts and processes.
func stableID(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

func ref(d *identity.Domain) domainRef {
	if d == nil {
		return domainRef{}
	}
	return domainRef{ID: d.ID, Name: d.Name}
}

// viewToken renders a token as Keystone does; the catalog only for scoped
// tokens, and only when wanted.
func (h *Handler) viewToken(t *builtin.Token, base string, withCatalog bool) map[string]any {
	tv := tokenView{
		Methods:   t.Payload.Methods,
		User:      userView{Domain: ref(t.UserDomain), ID: t.User.ID, Name: t.User.Name},
		AuditIDs:  []string{t.Payload.AuditID},
		ExpiresAt: t.Payload.ExpiresAt.UTC().Format(timeFormat),
		IssuedAt:  t.Payload.IssuedAt.UTC().Format(timeFormat),
	}
	if t.Project != nil {
		f := false
		tv.Project = &projectView{Domain: ref(t.ProjectDomain), ID: t.Project.ID, Name: t.Project.Name}
		tv.IsDomain = &f
		tv.Roles = make([]roleView, 0, len(t.Roles))
		for _, r := range t.Roles {
			tv.Roles = append(tv.Roles, roleView{ID: r.ID, Name: r.Name})
		}
		if withCatalog {
			tv.Catalog = h.catalog(base)
		}
	}
	return map[string]any{"token": tv}
}

// catalog lists every mounted service with one URL for each interface.
func (h *Handler) catalog(base string) []serviceView {
	out := make([]serviceView, 0, len(h.services))
	for _, s := range h.services {
		sv := serviceView{ID: stableID("service", s.Type), Type: s.Type, Name: s.Name}
		for _, iface := range []string{"public", "internal", "admin"} {
			sv.Endpoints = append(sv.Endpoints, endpointView{ID: stableID("endpoint", s.Type, iface), Interface: iface,
				RegionID: h.region, Region: h.region, URL: base + s.Path})
		}
		out = append(out, sv)
	}
	return out
}

type credentialView struct {
	UserID   string            `json:"user_id"`
	TenantID string            `json:"tenant_id"`
	Access   string            `json:"access"`
	Secret   string            `json:"secret"`
	TrustID  *string           `json:"trust_id"`
	Links    map[string]string `json:"links"`
}

func viewCredential(c *builtin.EC2, base string) credentialView {
	return credentialView{UserID: c.UserID, TenantID: c.ProjectID, Access: c.Access, Secret: c.Secret,
		Links: map[string]string{"self": base + "/identity/v3/users/" + c.UserID + "/credentials/OS-EC2/" + c.Access}}
}
