package kps

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/keypair"
)

// TestBusyAnswer checks KPS's answer to a refused generation: 503 with
// its own code and Retry-After in whole seconds.
func TestBusyAnswer(t *testing.T) {
	for _, c := range []struct {
		err        error
		status     int
		code       string
		retryAfter string
	}{
		{keypair.Busy(time.Second), 503, ErrBusy.Code, "1"},
		{keypair.Busy(2500 * time.Millisecond), 503, ErrBusy.Code, "3"},
		{keypair.QuotaExceeded(), 403, ErrQuotaExceeded.Code, ""},
	} {
		h := New(Config{})
		w := httptest.NewRecorder()
		h.writeError(w, httptest.NewRequest("POST", "/v3/p/keypairs", nil), c.err)
		var body struct {
			Code string `json:"error_code"`
			Msg  string `json:"error_msg"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || w.Code != c.status || body.Code != c.code ||
			body.Msg != keypair.ErrorMessage(c.err) || w.Header().Get("Retry-After") != c.retryAfter {
			t.Errorf("%v: %d %v %s; want %d %s, Retry-After %q", c.err, w.Code, w.Header(), w.Body, c.status, c.code, c.retryAfter)
		}
	}
}

// TestBodyLimitInAuthentication checks that a body limit met while
// authentication hashes the body is answered 413, not 401.
func TestBodyLimitInAuthentication(t *testing.T) {
	err := fmt.Errorf("aksk: reading request body: %w", &http.MaxBytesError{Limit: 65536})
	if code, msg := codeOf(err); code != ErrTooLarge || msg != "The request body is larger than 65536 bytes." {
		t.Fatalf("codeOf(%v) = %v %q", err, code, msg)
	}
}
