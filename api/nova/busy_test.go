package nova

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/keypair"
)

// TestBusyAnswer checks Nova's answer to a refused generation: 503 in
// wsgi.Fault's serviceUnavailable shape, with Retry-After in whole seconds.
func TestBusyAnswer(t *testing.T) {
	for _, c := range []struct {
		err        error
		retryAfter string
	}{
		{keypair.Busy(time.Second), "1"},
		{keypair.Busy(1500 * time.Millisecond), "2"},
		{keypair.Busy(time.Millisecond), "1"},
		{fmt.Errorf("create: %w", keypair.Busy(3*time.Second)), "3"},
		{keypair.QuotaExceeded(), ""},
	} {
		h := New(Config{})
		w := httptest.NewRecorder()
		h.writeError(w, httptest.NewRequest("POST", "/v2.1/os-keypairs", nil), c.err)
		if got := w.Header().Get("Retry-After"); got != c.retryAfter {
			t.Errorf("%v: Retry-After %q, want %q", c.err, got, c.retryAfter)
		}
		if c.retryAfter == "" {
			continue
		}
		var body map[string]struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || w.Code != 503 ||
			body["serviceUnavailable"].Code != 503 || body["serviceUnavailable"].Message != keypair.ErrorMessage(c.err) {
			t.Errorf("%v: %d %s", c.err, w.Code, w.Body)
		}
	}
}
