package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// keystoneError decodes Keystone's error body, failing the test when the
// body is not one.
func keystoneError(t *testing.T, raw []byte) (code int, message string) {
	t.Helper()
	var b struct {
		Error struct {
			Code    int    `json:"code"`
			Title   string `json:"title"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(raw, &b); err != nil || b.Error.Code == 0 || b.Error.Title == "" || b.Error.Message == "" {
		t.Fatalf("not Keystone's error body: %s", raw)
	}
	return b.Error.Code, b.Error.Message
}

// createdID returns the id of the object a 201 answer holds under key.
func createdID(t *testing.T, raw []byte, key string) string {
	t.Helper()
	var b map[string]struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(raw, &b); err != nil || b[key].ID == "" {
		t.Fatalf("no %s id in %s", key, raw)
	}
	return b[key].ID
}

// TestIdentityBodyErrorsReadable sends malformed JSON, wrong types, missing
// and extra fields to every identity endpoint that takes a body: each
// answer is Keystone's error body (or success), never a 500, and no
// message shows a Go type definition.
func TestIdentityBodyErrorsReadable(t *testing.T) {
	srv := startIdentityServer(t)
	tok, adminID, projectID := adminToken(t, srv)
	h := map[string]string{"X-Auth-Token": tok, "Content-Type": "application/json"}
	resp, raw := srv.do(t, "POST", "/identity/v3/users", h, `{"user": {"name": "target", "password": "target-pw"}}`)
	if resp.StatusCode != 201 {
		t.Fatalf("create target: %d %s", resp.StatusCode, raw)
	}
	target := createdID(t, raw, "user")

	type bodyCase struct {
		name, body string
		status     int
		message    string
	}
	type endpoint struct {
		method, path string
		cases        []bodyCase
	}
	var endpoints []endpoint
	// Every endpoint gets the malformed bodies.
	malformed := []bodyCase{
		{"not json", `{`, 400, "Malformed request body: it is not valid JSON."},
		{"trailing garbage", `{} x`, 400, "Malformed request body: it is not valid JSON."},
		{"empty", ``, 400, "The request body is empty; it must be a JSON object."},
		{"list", `[]`, 400, "Invalid input: the request body must be an object, not a list."},
		{"string", `"x"`, 400, "Invalid input: the request body must be an object, not a string."},
		{"number", `12`, 400, "Invalid input: the request body must be an object, not a number."},
		{"bool", `true`, 400, "Invalid input: the request body must be an object, not a boolean."},
	}
	add := func(method, path string, cases ...bodyCase) {
		endpoints = append(endpoints, endpoint{method, path, append(append([]bodyCase{}, malformed...), cases...)})
	}
	pwUser := func(user string) string {
		return `{"auth": {"identity": {"methods": ["password"], "password": {"user": ` + user + `}}}}`
	}
	add("POST", "/identity/v3/auth/tokens",
		bodyCase{"auth a list", `{"auth": []}`, 400, "Invalid input for field 'auth': expected an object, got a list."},
		bodyCase{"identity a string", `{"auth": {"identity": "x"}}`, 400, "Invalid input for field 'auth.identity': expected an object, got a string."},
		bodyCase{"methods a string", `{"auth": {"identity": {"methods": "password"}}}`, 400, "Invalid input for field 'auth.identity.methods': expected a list, got a string."},
		bodyCase{"method a number", `{"auth": {"identity": {"methods": [1]}}}`, 400, "Invalid input for field 'auth.identity.methods': expected a string, got a number."},
		bodyCase{"password a list", `{"auth": {"identity": {"methods": ["password"], "password": []}}}`, 400, "Invalid input for field 'auth.identity.password': expected an object, got a list."},
		bodyCase{"user name a number", pwUser(`{"name": 7, "password": "x"}`), 400, "Invalid input for field 'auth.identity.password.user.name': expected a string, got a number."},
		bodyCase{"user password a bool", pwUser(`{"name": "admin", "password": false}`), 400, "Invalid input for field 'auth.identity.password.user.password': expected a string, got a boolean."},
		bodyCase{"domain a string", pwUser(`{"name": "admin", "domain": "Default", "password": "x"}`), 400, "Invalid input for field 'auth.identity.password.user.domain': expected an object, got a string."},
		bodyCase{"token id a number", `{"auth": {"identity": {"methods": ["token"], "token": {"id": 5}}}}`, 400, "Invalid input for field 'auth.identity.token.id': expected a string, got a number."},
		bodyCase{"huge number", pwUser(`{"name": 1e400, "password": "x"}`), 400, "Invalid input for field 'auth.identity.password.user.name': expected a string, got a number."},
		bodyCase{"missing auth", `{}`, 400, "Expecting to find identity in auth."},
		bodyCase{"missing password", pwUser(`{"name": "admin", "domain": {"id": "default"}}`), 400, "Expecting to find user and password in the password method."},
		bodyCase{"extra fields", `{"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "admin", "domain": {"id": "default"}, "password": "` + bootstrapPassword + `", "x": 1}}, "y": []}}, "z": {}}`, 201, ""},
	)
	add("POST", "/identity/v3/users",
		bodyCase{"user a list", `{"user": []}`, 400, "Invalid input for field 'user': expected an object, got a list."},
		bodyCase{"name a number", `{"user": {"name": 1, "password": "p"}}`, 400, "Invalid input for field 'user.name': expected a string, got a number."},
		bodyCase{"password a list", `{"user": {"name": "u1", "password": ["p"]}}`, 400, "Invalid input for field 'user.password': expected a string, got a list."},
		bodyCase{"enabled a string", `{"user": {"name": "u1", "password": "p", "enabled": "no"}}`, 400, "Invalid input for field 'user.enabled': expected a boolean, got a string."},
		bodyCase{"domain_id an object", `{"user": {"name": "u1", "password": "p", "domain_id": {}}}`, 400, "Invalid input for field 'user.domain_id': expected a string, got an object."},
		bodyCase{"missing user", `{}`, 400, "A user needs a name and a password."},
		bodyCase{"missing password", `{"user": {"name": "u1"}}`, 400, "A user needs a name and a password."},
		bodyCase{"extra fields", `{"user": {"name": "u-extra", "password": "p", "email": "u@example.com"}, "other": 1}`, 201, ""},
	)
	add("PATCH", "/identity/v3/users/"+target,
		bodyCase{"user a string", `{"user": "x"}`, 400, "Invalid input for field 'user': expected an object, got a string."},
		bodyCase{"name a bool", `{"user": {"name": true}}`, 400, "Invalid input for field 'user.name': expected a string, got a boolean."},
		bodyCase{"password a number", `{"user": {"password": 1234}}`, 400, "Invalid input for field 'user.password': expected a string, got a number."},
		bodyCase{"enabled a number", `{"user": {"enabled": 0}}`, 400, "Invalid input for field 'user.enabled': expected a boolean, got a number."},
		bodyCase{"missing user", `{}`, 400, "Expecting to find user in the request body."},
		bodyCase{"extra fields", `{"user": {"description": "x"}, "other": 1}`, 200, ""},
	)
	add("POST", "/identity/v3/projects",
		bodyCase{"project a number", `{"project": 3}`, 400, "Invalid input for field 'project': expected an object, got a number."},
		bodyCase{"name a list", `{"project": {"name": ["p"]}}`, 400, "Invalid input for field 'project.name': expected a string, got a list."},
		bodyCase{"description a number", `{"project": {"name": "p1", "description": 5}}`, 400, "Invalid input for field 'project.description': expected a string, got a number."},
		bodyCase{"missing name", `{"project": {}}`, 400, "A project needs a name."},
		bodyCase{"extra fields", `{"project": {"name": "p-extra", "tags": ["a"], "enabled": true}, "other": 1}`, 201, ""},
	)
	add("POST", "/identity/v3/users/"+adminID+"/credentials/OS-EC2",
		bodyCase{"tenant_id a number", `{"tenant_id": 5}`, 400, "Invalid input for field 'tenant_id': expected a string, got a number."},
		bodyCase{"tenant_id an object", `{"tenant_id": {}}`, 400, "Invalid input for field 'tenant_id': expected a string, got an object."},
		bodyCase{"missing tenant_id", `{}`, 400, "tenant_id is required: the project the credential acts in."},
		bodyCase{"extra fields", `{"tenant_id": "` + projectID + `", "user_id": "x"}`, 201, ""},
	)

	for _, ep := range endpoints {
		for _, tt := range ep.cases {
			t.Run(ep.method+" "+strings.TrimPrefix(ep.path, "/identity/v3/")+"/"+tt.name, func(t *testing.T) {
				resp, raw := srv.do(t, ep.method, ep.path, h, tt.body)
				if resp.StatusCode != tt.status {
					t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, raw)
				}
				if s := string(raw); strings.Contains(s, "struct {") || strings.Contains(s, `json:\"`) || strings.Contains(s, "Go ") {
					t.Fatalf("answer shows Go types: %s", raw)
				}
				if tt.status < 400 {
					return
				}
				code, msg := keystoneError(t, raw)
				if code != tt.status || msg != tt.message {
					t.Fatalf("got %d %q, want %q", code, msg, tt.message)
				}
			})
		}
	}
}

// TestIdentityNames sends names Keystone refuses (empty, NUL, a
// right-to-left override, 60 KiB, ...) to user and project create and to
// user rename, and an empty password to a password change: each is a 400
// in Keystone's format naming the field, and nothing is stored.
func TestIdentityNames(t *testing.T) {
	srv := startIdentityServer(t)
	tok, _, _ := adminToken(t, srv)
	h := map[string]string{"X-Auth-Token": tok, "Content-Type": "application/json"}
	resp, raw := srv.do(t, "POST", "/identity/v3/users", h, `{"user": {"name": "victim", "password": "victim-pw"}}`)
	if resp.StatusCode != 201 {
		t.Fatalf("create: %d %s", resp.StatusCode, raw)
	}
	victim := createdID(t, raw, "user")
	quote := func(s string) string { b, _ := json.Marshal(s); return string(b) }

	bad := []struct{ name, value, reason string }{
		{"NUL", "eve\x00admin", "must not contain control or formatting characters"},
		{"newline", "eve\nadmin", "must not contain control or formatting characters"},
		{"right-to-left override", "eve\u202Egpj.exe", "must not contain control or formatting characters"},
		{"zero-width joiner", "ad\u200Dmin", "must not contain control or formatting characters"},
		{"60 KiB", strings.Repeat("n", 60<<10), "must be 1 to 255 characters long"},
		{"256 characters", strings.Repeat("n", 256), "must be 1 to 255 characters long"},
		{"blank", "   ", "must not be only white space"},
	}
	for _, tt := range bad {
		for _, req := range []struct{ what, method, path, body, kind string }{
			{"user create", "POST", "/identity/v3/users", `{"user": {"name": ` + quote(tt.value) + `, "password": "p"}}`, "user"},
			{"user rename", "PATCH", "/identity/v3/users/" + victim, `{"user": {"name": ` + quote(tt.value) + `}}`, "user"},
			{"project create", "POST", "/identity/v3/projects", `{"project": {"name": ` + quote(tt.value) + `}}`, "project"},
		} {
			t.Run(req.what+"/"+tt.name, func(t *testing.T) {
				resp, raw := srv.do(t, req.method, req.path, h, req.body)
				if resp.StatusCode != 400 {
					t.Fatalf("status %d: %.300s", resp.StatusCode, raw)
				}
				_, msg := keystoneError(t, raw)
				if want := "Invalid input for field 'name': a " + req.kind + " name " + tt.reason; !strings.HasPrefix(msg, want) {
					t.Fatalf("message %q, want it to start with %q", msg, want)
				}
			})
		}
	}
	for _, tt := range []struct{ name, body, message string }{
		{"empty name", `{"user": {"name": ""}}`, "Invalid input for field 'name': a user name must be 1 to 255 characters long."},
		{"empty password", `{"user": {"password": ""}}`, "Invalid input for field 'password': a password must not be empty."},
	} {
		t.Run("user update/"+tt.name, func(t *testing.T) {
			resp, raw := srv.do(t, "PATCH", "/identity/v3/users/"+victim, h, tt.body)
			if resp.StatusCode != 400 {
				t.Fatalf("status %d: %s", resp.StatusCode, raw)
			}
			if _, msg := keystoneError(t, raw); msg != tt.message {
				t.Fatalf("message %q, want %q", msg, tt.message)
			}
		})
	}
	// Nothing was changed: the victim keeps its name and password, and no
	// user or project with a refused name exists.
	body := `{"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "victim", "domain": {"id": "default"}, "password": "victim-pw"}}}}}`
	if resp, raw := srv.do(t, "POST", "/identity/v3/auth/tokens", map[string]string{"Content-Type": "application/json"}, body); resp.StatusCode != 201 {
		t.Fatalf("victim's login after refused updates: %d %s", resp.StatusCode, raw)
	}
	for _, list := range []string{"users", "projects"} {
		_, raw := srv.do(t, "GET", "/identity/v3/"+list, h, "")
		var b map[string]json.RawMessage
		var xs []struct{ Name string }
		if err := json.Unmarshal(raw, &b); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b[list], &xs); err != nil {
			t.Fatal(err)
		}
		for _, x := range xs {
			if x.Name != "admin" && x.Name != "victim" {
				t.Errorf("%s holds %q", list, x.Name)
			}
		}
	}
}

// TestIdentityCommandNames checks that `keyhaven identity` applies the same
// name rule as the API.
func TestIdentityCommandNames(t *testing.T) {
	ctx := context.Background()
	data := filepath.Join(t.TempDir(), "data")
	env := func(k string) string {
		if k == "KEYHAVEN_BOOTSTRAP_PASSWORD" {
			return bootstrapPassword
		}
		return ""
	}
	for _, args := range [][]string{
		{"user", "create", "eve\u202Enimda", "--password", "pw"},
		{"user", "create", "eve\x1b[2J", "--password", "pw"},
		{"user", "create", strings.Repeat("u", 256), "--password", "pw"},
		{"project", "create", "dev\u0000ops"},
		{"project", "create", strings.Repeat("p", 60<<10)},
	} {
		var out, errb bytes.Buffer
		err := run(ctx, append([]string{"identity", "--data-dir", data}, args...), env, &out, &errb)
		if err == nil || !strings.Contains(err.Error(), "name must") {
			t.Errorf("identity %.40q: %v", args, err)
		}
	}
	var out bytes.Buffer
	if err := run(ctx, []string{"identity", "--data-dir", data, "user", "list"}, env, &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Count(out.String(), "\n"); lines != 2 { // header and admin
		t.Fatalf("user list:\n%s", out.String())
	}
}
