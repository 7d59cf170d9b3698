package kps

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/identity"
	"github.com/keyhaven/keyhaven/identity/statictoken"
	"github.com/keyhaven/keyhaven/keypair"
	"github.com/keyhaven/keyhaven/store/sqlite"
)

// huaweiCodes is Huawei's published error table, as shared/spec/kps-v3.md
// ("Errors") gives it: status and meaning of each code.
var huaweiCodes = map[string]struct {
	status  int
	meaning string
}{
	"KPS.0001": {400, "the task id is invalid"},
	"KPS.0002": {400, "parameter error"},
	"KPS.0003": {500, "a service it depends on is unavailable"},
	"KPS.0004": {500, "response error"},
	"KPS.0005": {400, "the failed task is not found"},
	"KPS.0006": {400, "the user is not found"},
	"KPS.4016": {400, "the key pair does not exist"},
	"KPS.5001": {500, "querying a database record failed"},
	"KPS.5002": {500, "inserting a database record failed"},
	"KPS.5003": {500, "deleting a database record failed"},
	"KPS.5004": {500, "updating a database record failed"},
	"KPS.6004": {400, "no key pair found"},
	"KPS.6005": {400, "no private key is kept in escrow"},
	"KPS.6007": {500, "creating the key-encryption key failed"},
	"KPS.6008": {400, "encrypting the private key failed (the KMS key is missing or disabled)"},
	"KPS.6010": {400, "saving the private key failed"},
	"KPS.6011": {400, "the imported private key does not match the public key"},
	"KPS.9001": {401, "no valid token, or authentication failed"},
	"KPS.9003": {403, "no permission for the operation"},
	"KPS.9004": {403, "the account is frozen"},
	"KPS.9005": {403, "the account is restricted"},
}

// huaweiMeanings is, for each Huawei code keyhaven answers, the one
// constant that carries that meaning.
var huaweiMeanings = map[string]ErrorCode{
	"KPS.0001": ErrInvalidTaskID,
	"KPS.0002": ErrInvalidParameter,
	"KPS.0003": ErrKMSUnavailable,
	"KPS.0005": ErrFailedTaskNotFound,
	"KPS.6004": ErrNoKeypairAssociated,
	"KPS.4016": ErrKeypairNotFound,
	"KPS.5001": ErrDatabaseQuery,
	"KPS.5002": ErrDatabaseInsert,
	"KPS.5003": ErrDatabaseDelete,
	"KPS.5004": ErrDatabaseUpdate,
	"KPS.6005": ErrNoPrivateKey,
	"KPS.6008": ErrKMSKeyNotFound,
	"KPS.6011": ErrKeyMismatch,
	"KPS.9001": ErrUnauthenticated,
	"KPS.9003": ErrNotAuthorized,
}

// statusDeviations are the Huawei codes keyhaven answers with another
// status on purpose, each written in docs/compatibility.md: a 404 for what
// Huawei's Terraform provider reads as "gone", a 503 for outages a client
// may retry.
var statusDeviations = map[string]int{
	"KPS.4016": 404, "KPS.6005": 404,
	"KPS.0003": 503, "KPS.5001": 503, "KPS.5002": 503, "KPS.5003": 503, "KPS.5004": 503,
}

// ownCode is keyhaven's block for cases Huawei's table does not list.
var ownCode = regexp.MustCompile(`^KPS\.7[0-9]{3}$`)

// TestCodesHaveOneMeaning checks the code table against Huawei's: no code
// twice, a Huawei code only with Huawei's meaning and status (or a
// documented deviation), and every other code in keyhaven's own block,
// which Huawei's table does not touch.
func TestCodesHaveOneMeaning(t *testing.T) {
	for code := range huaweiCodes {
		if ownCode.MatchString(code) {
			t.Fatalf("keyhaven's block overlaps Huawei's code %s", code)
		}
	}
	seen := map[string]ErrorCode{}
	for _, c := range Codes {
		if prev, ok := seen[c.Code]; ok {
			t.Errorf("%s has two meanings: %q and %q", c.Code, prev.Meaning, c.Meaning)
		}
		seen[c.Code] = c
		if (c.Status < 400 && !isTaskErrorCode(c)) || c.Meaning == "" {
			t.Errorf("bad code %+v", c)
		}
		h, isHuawei := huaweiCodes[c.Code]
		switch {
		case isHuawei && huaweiMeanings[c.Code] != c:
			t.Errorf("%s (%q) reuses Huawei's code for %q", c.Code, c.Meaning, h.meaning)
		case isHuawei && c.Status != h.status && statusDeviations[c.Code] != c.Status:
			t.Errorf("%s answers %d; Huawei %d, and no deviation is documented", c.Code, c.Status, h.status)
		case !isHuawei && !ownCode.MatchString(c.Code):
			t.Errorf("%s is neither Huawei's nor in keyhaven's block KPS.7xxx", c.Code)
		}
	}
	for code, c := range huaweiMeanings {
		if seen[code] != c {
			t.Errorf("%s (%s) is missing from Codes", code, c.Meaning)
		}
	}
}

// TestDomainErrorCodes maps every domain error kind, reason and
// authentication failure to the code the spec's table gives it (Huawei's
// code as a literal where the table has the case).
func TestDomainErrorCodes(t *testing.T) {
	reason := func(code keypair.Code, r keypair.Reason) error { return keypair.Errorf(code, "x").WithReason(r) }
	for _, c := range []struct {
		name string
		err  error
		want string
	}{
		{"invalid", keypair.Errorf(keypair.EINVALID, "x"), "KPS.0002"},
		{"marker not found", keypair.MarkerNotFound("m"), "KPS.0002"},
		{"not found", keypair.NotFound("k", "u"), "KPS.4016"},
		{"name exists", keypair.Conflict("k"), ErrKeypairExists.Code},
		{"changed meanwhile", keypair.Errorf(keypair.ECONFLICT, "The key pair changed."), ErrConflict.Code},
		{"quota", keypair.QuotaExceeded(), ErrQuotaExceeded.Code},
		{"forbidden", keypair.Forbidden(keypair.ActionExport), "KPS.9003"},
		{"unavailable", keypair.Errorf(keypair.EUNAVAILABLE, "x"), "KPS.0003"},
		{"busy", keypair.Busy(time.Second), ErrBusy.Code},
		{"internal", errors.New("boom"), ErrInternal.Code},
		{"internal domain error", keypair.Errorf(keypair.EINTERNAL, "x"), ErrInternal.Code},
		{"invalid public key", reason(keypair.EINVALID, keypair.ReasonInvalidPublicKey), "KPS.0002"},
		{"invalid private key", reason(keypair.EINVALID, keypair.ReasonPrivateKeyInvalid), "KPS.0002"},
		{"private key mismatch", reason(keypair.EINVALID, keypair.ReasonKeyMismatch), "KPS.6011"},
		{"no private key", reason(keypair.ENOTFOUND, keypair.ReasonNoPrivateKey), "KPS.6005"},
		{"kms key not found", reason(keypair.EINVALID, keypair.ReasonKMSKeyNotFound), "KPS.6008"},
		{"kms unavailable", reason(keypair.EUNAVAILABLE, keypair.ReasonKMSUnavailable), "KPS.0003"},
		{"escrow unsupported", reason(keypair.EINVALID, keypair.ReasonEscrowUnsupported), ErrEscrowUnsupported.Code},
		{"no credentials", identity.ErrUnauthenticated, "KPS.9001"},
		{"bad credentials", fmt.Errorf("token: %w", identity.Unauthenticated("signature does not match")), "KPS.9001"},
		{"replayed signature", &identity.AuthError{Reason: "already received", Replayed: true}, ErrReplayed.Code},
		{"body too large in authentication", fmt.Errorf("aksk: %w", &http.MaxBytesError{Limit: 10}), ErrTooLarge.Code},
	} {
		if code, msg := codeOf(c.err); code.Code != c.want || msg == "" {
			t.Errorf("%s: %s %q, want %s", c.name, code.Code, msg, c.want)
		}
	}
}

// TestDialectErrorCodes sends requests that the dialect itself refuses, or
// that meet a missing key pair or a database that is down, through the
// handler on a real SQLite store, and checks each code and status.
func TestDialectErrorCodes(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "k.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	auth, err := statictoken.Parse(strings.NewReader("tok alice p1 member\n"))
	if err != nil {
		t.Fatal(err)
	}
	var down error
	h := New(Config{Service: keypair.NewService(keypair.Config{Store: st, Quota: 10}), Auth: auth,
		Health: func(context.Context) error { return down }})
	send := func(method, path, body string, hdr map[string]string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("X-Auth-Token", "tok")
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w
	}
	check := func(name string, w *httptest.ResponseRecorder, want string) {
		t.Helper()
		var body struct {
			Code string `json:"error_code"`
			Msg  string `json:"error_msg"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.Code != want || body.Msg == "" {
			t.Errorf("%s: %d %s, want %s", name, w.Code, w.Body, want)
			return
		}
		for _, c := range Codes {
			if c.Code == want && c.Status != w.Code {
				t.Errorf("%s: status %d, the table says %d", name, w.Code, c.Status)
			}
		}
	}
	if w := send("POST", "/v3/p1/keypairs", `{"keypair": {"name": "exists", "public_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB1zvNB6kBtmcA0zK2Tsvdn6E5Jsh8BZjpmzx6Q7B7nm"}}`, nil); w.Code != 200 {
		t.Fatalf("create: %d %s", w.Code, w.Body)
	}
	huge := `{"keypair": {"name": "` + strings.Repeat("n", 100) + `"}}`
	limited := func(method, path, body string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("X-Auth-Token", "tok")
		w := httptest.NewRecorder()
		req.Body = http.MaxBytesReader(w, req.Body, 10)
		h.ServeHTTP(w, req)
		return w
	}
	for _, c := range []struct {
		name, method, path, body string
		hdr                      map[string]string
		want                     string
	}{
		{"not JSON", "POST", "/v3/p1/keypairs", `{`, nil, "KPS.0002"},
		{"missing name", "POST", "/v3/p1/keypairs", `{"keypair": {}}`, nil, "KPS.0002"},
		{"unknown field", "POST", "/v3/p1/keypairs", `{"keypair": {"name": "x", "colour": "red"}}`, nil, "KPS.0002"},
		{"bad limit", "GET", "/v3/p1/keypairs?limit=0", "", nil, "KPS.0002"},
		{"missing key pair", "GET", "/v3/p1/keypairs/nope", "", nil, "KPS.4016"},
		{"delete of a missing key pair", "DELETE", "/v3/p1/keypairs/nope", "", nil, "KPS.4016"},
		{"name exists", "POST", "/v3/p1/keypairs", `{"keypair": {"name": "exists", "public_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB1zvNB6kBtmcA0zK2Tsvdn6E5Jsh8BZjpmzx6Q7B7nm"}}`, nil, ErrKeypairExists.Code},
		{"invalid public key", "POST", "/v3/p1/keypairs", `{"keypair": {"name": "bad", "public_key": "ssh-rsa AAAAnotbase64"}}`, nil, "KPS.0002"},
		{"export of no private key", "POST", "/v3/p1/keypairs/private-key/export", `{"keypair": {"name": "exists"}}`, nil, "KPS.6005"},
		{"nothing to clear", "DELETE", "/v3/p1/keypairs/exists/private-key", "", nil, "KPS.6005"},
		{"escrow on a service without", "POST", "/v3/p1/keypairs", `{"keypair": {"name": "p", "key_protection": {"encryption": {"type": "default"}}}}`, nil, ErrEscrowUnsupported.Code},
		{"another project", "GET", "/v3/p2/keypairs", "", nil, "KPS.9003"},
		{"bad token", "GET", "/v3/p1/keypairs", "", map[string]string{"X-Auth-Token": "junk"}, "KPS.9001"},
		{"unknown path", "GET", "/v3/p1/servers", "", nil, ErrResourceNotFound.Code},
		{"unknown operation", "POST", "/v3/p1/keypairs/private-key/shred", `{}`, nil, ErrResourceNotFound.Code},
		{"method not allowed", "PATCH", "/v3/p1/keypairs/exists", `{}`, nil, ErrMethodNotAllowed.Code},
	} {
		check(c.name, send(c.method, c.path, c.body, c.hdr), c.want)
	}
	check("body too large", limited("POST", "/v3/p1/keypairs", huge), ErrTooLarge.Code)

	// The database goes away: each operation answers Huawei's code for
	// the kind of record it reads or writes.
	st.Close()
	down = errors.New("database closed")
	for _, c := range []struct{ name, method, path, body, want string }{
		{"list", "GET", "/v3/p1/keypairs", "", "KPS.5001"},
		{"show", "GET", "/v3/p1/keypairs/exists", "", "KPS.5001"},
		{"create", "POST", "/v3/p1/keypairs", `{"keypair": {"name": "new", "public_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB1zvNB6kBtmcA0zK2Tsvdn6E5Jsh8BZjpmzx6Q7B7nm"}}`, "KPS.5002"},
		{"delete", "DELETE", "/v3/p1/keypairs/exists", "", "KPS.5003"},
		{"update description", "PUT", "/v3/p1/keypairs/exists", `{"keypair": {"description": "d"}}`, "KPS.5004"},
	} {
		check("database down: "+c.name, send(c.method, c.path, c.body, nil), c.want)
	}
}
