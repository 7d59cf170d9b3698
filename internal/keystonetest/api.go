package keystonetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

var httpClient = &http.Client{Timeout: 30 * time.Second}

var uniq atomic.Int64

// UniqueName returns prefix followed by a suffix not used before in this
// test binary nor (with high probability) in another one, for users and
// projects in the shared Keystone.
func UniqueName(prefix string) string {
	return fmt.Sprintf("%s-%d-%d", prefix, time.Now().UnixNano()%1e9, uniq.Add(1))
}

// Request sends method path (relative to URL, e.g. "/projects") with token
// as X-Auth-Token (when not empty) and body as JSON (when not nil). It fails
// the test unless Keystone answers one of want, decodes a JSON answer into
// out (when not nil) and returns the answer's headers.
func (k *Keystone) Request(t testing.TB, method, path, token string, body, out any, want ...int) http.Header {
	t.Helper()
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			t.Fatalf("keystonetest: %s %s: %v", method, path, err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, k.URL+path, rd)
	if err != nil {
		t.Fatalf("keystonetest: %s %s: %v", method, path, err)
	}
	if token != "" {
		req.Header.Set("X-Auth-Token", token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("keystonetest: %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("keystonetest: %s %s: reading answer: %v", method, path, err)
	}
	ok := false
	for _, w := range want {
		ok = ok || resp.StatusCode == w
	}
	if !ok {
		var log string
		if resp.StatusCode >= 500 {
			log = "\nKeystone's log:\n" + k.Log()
		}
		t.Fatalf("keystonetest: %s %s: HTTP %d, want %v: %s%s", method, path, resp.StatusCode, want, redact(string(data), k.AdminPassword), log)
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("keystonetest: %s %s: decoding answer: %v", method, path, err)
		}
	}
	return resp.Header
}

// IssueToken returns a token for user (by name, in Domain) scoped to project
// (by name), or an unscoped token when project is "".
func (k *Keystone) IssueToken(t testing.TB, user, password, project string) string {
	t.Helper()
	tok, _ := k.issue(t, user, password, project)
	return tok
}

func (k *Keystone) issue(t testing.TB, user, password, project string) (string, time.Time) {
	t.Helper()
	dom := map[string]string{"name": k.Domain}
	auth := map[string]any{
		"identity": map[string]any{
			"methods": []string{"password"},
			"password": map[string]any{
				"user": map[string]any{"name": user, "domain": dom, "password": password},
			},
		},
		// Without an explicit scope, Keystone scopes the token to the
		// user's default project, if any.
		"scope": "unscoped",
	}
	if project != "" {
		auth["scope"] = map[string]any{"project": map[string]any{"name": project, "domain": dom}}
	}
	var out struct {
		Token struct {
			ExpiresAt time.Time `json:"expires_at"`
		} `json:"token"`
	}
	h := k.Request(t, http.MethodPost, "/auth/tokens?nocatalog", "", map[string]any{"auth": auth}, &out, http.StatusCreated)
	tok := h.Get("X-Subject-Token")
	if tok == "" {
		t.Fatalf("keystonetest: Keystone issued no X-Subject-Token for %s", user)
	}
	return tok, out.Token.ExpiresAt
}

// AdminToken returns a token of the bootstrap admin scoped to AdminProject,
// reusing one while it has more than ten minutes left.
func (k *Keystone) AdminToken(t testing.TB) string {
	t.Helper()
	k.tokMu.Lock()
	defer k.tokMu.Unlock()
	if k.adminTok == "" || time.Until(k.adminExp) < 10*time.Minute {
		k.adminTok, k.adminExp = k.issue(t, k.AdminUser, k.AdminPassword, k.AdminProject)
	}
	return k.adminTok
}

// RevokeToken revokes token (DELETE /v3/auth/tokens) with adminToken.
func (k *Keystone) RevokeToken(t testing.TB, adminToken, token string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodDelete, k.URL+"/auth/tokens", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Auth-Token", adminToken)
	req.Header.Set("X-Subject-Token", token)
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("keystonetest: revoking token: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("keystonetest: revoking token: HTTP %d, want 204", resp.StatusCode)
	}
}

// ProjectID returns the id of project name, creating the project (in
// Domain) when it does not exist.
func (k *Keystone) ProjectID(t testing.TB, name string) string {
	t.Helper()
	adm := k.AdminToken(t)
	var list struct {
		Projects []struct {
			ID string `json:"id"`
		} `json:"projects"`
	}
	k.Request(t, http.MethodGet, "/projects?name="+url.QueryEscape(name), adm, nil, &list, http.StatusOK)
	if len(list.Projects) > 0 {
		return list.Projects[0].ID
	}
	var out struct {
		Project struct {
			ID string `json:"id"`
		} `json:"project"`
	}
	body := map[string]any{"project": map[string]any{"name": name, "domain_id": k.domainID(t)}}
	k.Request(t, http.MethodPost, "/projects", adm, body, &out, http.StatusCreated)
	return out.Project.ID
}

// RoleID returns the id of role name (e.g. "member", "admin", "reader").
func (k *Keystone) RoleID(t testing.TB, name string) string {
	t.Helper()
	var list struct {
		Roles []struct {
			ID string `json:"id"`
		} `json:"roles"`
	}
	k.Request(t, http.MethodGet, "/roles?name="+url.QueryEscape(name), k.AdminToken(t), nil, &list, http.StatusOK)
	if len(list.Roles) == 0 {
		t.Fatalf("keystonetest: no role %q", name)
	}
	return list.Roles[0].ID
}

// CreateUser creates user name with password in Domain and, when project is
// not "", gives it role on project (by names; the project is created if
// needed). It returns the user's id.
func (k *Keystone) CreateUser(t testing.TB, name, password, project, role string) string {
	t.Helper()
	var out struct {
		User struct {
			ID string `json:"id"`
		} `json:"user"`
	}
	body := map[string]any{"user": map[string]any{"name": name, "password": password, "domain_id": k.domainID(t)}}
	k.Request(t, http.MethodPost, "/users", k.AdminToken(t), body, &out, http.StatusCreated)
	if project != "" {
		k.Grant(t, out.User.ID, k.ProjectID(t, project), role)
	}
	return out.User.ID
}

// Grant gives userID role (by name) on projectID.
func (k *Keystone) Grant(t testing.TB, userID, projectID, role string) {
	t.Helper()
	path := fmt.Sprintf("/projects/%s/users/%s/roles/%s", url.PathEscape(projectID), url.PathEscape(userID), url.PathEscape(k.RoleID(t, role)))
	k.Request(t, http.MethodPut, path, k.AdminToken(t), nil, nil, http.StatusNoContent, http.StatusCreated, http.StatusOK)
}

// SetUserEnabled enables or disables userID. Disabling a user revokes its
// tokens in Keystone.
func (k *Keystone) SetUserEnabled(t testing.TB, userID string, enabled bool) {
	t.Helper()
	body := map[string]any{"user": map[string]any{"enabled": enabled}}
	k.Request(t, http.MethodPatch, "/users/"+url.PathEscape(userID), k.AdminToken(t), body, nil, http.StatusOK)
}

// CreateEC2 creates an EC2 credential of userID for projectID through
// Keystone's OS-EC2 API and returns its access and secret keys.
func (k *Keystone) CreateEC2(t testing.TB, userID, projectID string) (access, secret string) {
	t.Helper()
	var out struct {
		Credential struct {
			Access string `json:"access"`
			Secret string `json:"secret"`
		} `json:"credential"`
	}
	path := "/users/" + url.PathEscape(userID) + "/credentials/OS-EC2"
	k.Request(t, http.MethodPost, path, k.AdminToken(t), map[string]any{"tenant_id": projectID}, &out, http.StatusCreated)
	if out.Credential.Access == "" || out.Credential.Secret == "" {
		t.Fatal("keystonetest: Keystone created an EC2 credential with no access or secret")
	}
	return out.Credential.Access, out.Credential.Secret
}

// DeleteEC2 deletes userID's EC2 credential with access key access.
func (k *Keystone) DeleteEC2(t testing.TB, userID, access string) {
	t.Helper()
	path := "/users/" + url.PathEscape(userID) + "/credentials/OS-EC2/" + url.PathEscape(access)
	k.Request(t, http.MethodDelete, path, k.AdminToken(t), nil, nil, http.StatusNoContent)
}

// domainID returns the id of Domain.
func (k *Keystone) domainID(t testing.TB) string {
	t.Helper()
	if strings.EqualFold(k.Domain, "Default") {
		return "default"
	}
	var list struct {
		Domains []struct {
			ID string `json:"id"`
		} `json:"domains"`
	}
	k.Request(t, http.MethodGet, "/domains?name="+url.QueryEscape(k.Domain), k.AdminToken(t), nil, &list, http.StatusOK)
	if len(list.Domains) == 0 {
		t.Fatalf("keystonetest: no domain %q", k.Domain)
	}
	return list.Domains[0].ID
}
