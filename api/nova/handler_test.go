package nova

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/identity/statictoken"
	"github.com/keyhaven/keyhaven/keypair"
	"github.com/keyhaven/keyhaven/store/sqlite"
)

func newTestHandler(t *testing.T, st keypair.Store, log *slog.Logger) *Handler {
	t.Helper()
	auth, err := statictoken.Parse(strings.NewReader("tok alice p1 member\n"))
	if err != nil {
		t.Fatal(err)
	}
	return New(Config{Service: keypair.NewService(keypair.Config{Store: st, Quota: 10}), Auth: auth, Log: log})
}

func faultOf(t *testing.T, rec *httptest.ResponseRecorder) (string, string) {
	t.Helper()
	var body map[string]struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || len(body) != 1 {
		t.Fatalf("fault body %q: %v", rec.Body.String(), err)
	}
	for k, v := range body {
		return k, v.Message
	}
	return "", ""
}

// wantInternal sends req as alice and expects Nova's 500.
func wantInternal(t *testing.T, h *Handler, req *http.Request) *httptest.ResponseRecorder {
	t.Helper()
	req.Header.Set("X-Auth-Token", "tok")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 500 {
		t.Fatalf("status %d", rec.Code)
	}
	if name, msg := faultOf(t, rec); name != "computeFault" || msg != internalMessage {
		t.Fatalf("%s %q", name, msg)
	}
	return rec
}

// TestInternalErrorIsHidden closes a real SQLite store under the handler:
// the caller gets Nova's 500 without the cause, the operator's log has it.
func TestInternalErrorIsHidden(t *testing.T) {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "k.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	h := newTestHandler(t, st, slog.New(slog.NewTextHandler(&logs, nil)))
	st.Close()

	rec := wantInternal(t, h, httptest.NewRequest("GET", "/v2.1/os-keypairs", nil))
	if strings.Contains(rec.Body.String(), "sql") || !strings.Contains(logs.String(), "internal error") {
		t.Fatalf("cause leaked or not logged: body %s log %s", rec.Body.String(), logs.String())
	}
}

// panicStore stands in for a store only to make a panic happen, which no
// real store can be made to do on demand.
type panicStore struct{ keypair.Store }

func (panicStore) CountKeyPairs(context.Context, string) (int, error) { panic("boom") }

func TestPanicBecomesNovaFault(t *testing.T) {
	h := newTestHandler(t, panicStore{}, nil)
	rec := wantInternal(t, h, httptest.NewRequest("POST", "/v2.1/os-keypairs", strings.NewReader(`{"keypair": {"name": "k"}}`)))
	if strings.Contains(rec.Body.String(), "boom") {
		t.Fatal("panic value leaked")
	}
}

func TestStatusOf(t *testing.T) {
	for _, c := range []struct {
		err    error
		status int
		msg    string
	}{
		{keypair.NotFound("k", "u"), 404, "Keypair k not found for user u"},
		{keypair.Conflict("k"), 409, "Key pair 'k' already exists."},
		{keypair.QuotaExceeded(), 403, "Quota exceeded, too many key pairs."},
		{keypair.MarkerNotFound("m"), 400, "Marker m could not be found."},
		{keypair.Forbidden(keypair.ActionList), 403, "Policy doesn't allow os_compute_api:os-keypairs:index to be performed."},
		{badRequest("x"), 400, "x"},
		{&httpError{status: http.StatusRequestEntityTooLarge, message: "Request is too large."}, 413, "Request is too large."},
		{keypair.Busy(time.Second), 503, keypair.Busy(time.Second).Message},
		{fmt.Errorf("aksk: reading request body: %w", &http.MaxBytesError{Limit: 65536}), 413, "Request is too large."},
		{context.Canceled, 500, internalMessage},
	} {
		if s, m := statusOf(c.err); s != c.status || m != c.msg {
			t.Errorf("statusOf(%v) = %d %q, want %d %q", c.err, s, m, c.status, c.msg)
		}
	}
}
