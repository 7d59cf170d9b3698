package server_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/keyhaven/keyhaven/api/nova"
	"github.com/keyhaven/keyhaven/identity/statictoken"
	"github.com/keyhaven/keyhaven/keypair"
	"github.com/keyhaven/keyhaven/metrics"
	"github.com/keyhaven/keyhaven/server"
	"github.com/keyhaven/keyhaven/store/sqlite"
)

// benchPublicKey is the key every benchmark import sends.
const benchPublicKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBrCjG9fCb9CCti5X/udSkBtPhQj1xLbHxE4m6K/RpWu bench"

// hotPath is the server's whole handler chain (request id, access log to a
// JSON handler, metrics, body limit, routing, static token, the Nova
// dialect, the service and a real SQLite store) without the network, so
// a benchmark sees the cost and allocations of one request's own path.
func hotPath(b *testing.B) http.Handler {
	b.Helper()
	dir := b.TempDir()
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "k.db"), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	tokPath := filepath.Join(dir, "tokens")
	if err := os.WriteFile(tokPath, []byte("bench-token bench 6f1d2c8e9b7a4c3d8e2f1a0b9c8d7e6f member\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	auth, err := statictoken.Load(tokPath)
	if err != nil {
		b.Fatal(err)
	}
	m := metrics.New(prometheus.NewRegistry())
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	svc := keypair.NewService(keypair.Config{Store: m.Store(st), Quota: keypair.Unlimited})
	srv := server.New(server.Config{Nova: nova.New(nova.Config{Service: svc, Auth: m.Authenticator("token", auth), Log: log}),
		Log: log, Observer: m})
	return srv.Handler()
}

func serveOne(b *testing.B, h http.Handler, method, path, body string, want int) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r := httptest.NewRequest(method, path, rd)
	r.Header.Set("X-Auth-Token", "bench-token")
	r.Header.Set("OpenStack-API-Version", "compute 2.2")
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != want {
		b.Fatalf("%s %s: %d %s", method, path, w.Code, w.Body)
	}
}

func importBody(name string) string {
	return `{"keypair": {"name": "` + name + `", "public_key": "` + benchPublicKey + `"}}`
}

// BenchmarkHotPathShow is GET /v2.1/os-keypairs/{name} end to end.
func BenchmarkHotPathShow(b *testing.B) {
	h := hotPath(b)
	serveOne(b, h, "POST", "/v2.1/os-keypairs", importBody("shown"), 201)
	b.ReportAllocs()
	for b.Loop() {
		serveOne(b, h, "GET", "/v2.1/os-keypairs/shown", "", 200)
	}
}

// BenchmarkHotPathImport is POST /v2.1/os-keypairs with a public key, a
// new name each time, end to end (one durable SQLite commit each).
func BenchmarkHotPathImport(b *testing.B) {
	h := hotPath(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		serveOne(b, h, "POST", "/v2.1/os-keypairs", importBody("k-"+strconv.Itoa(i)), 201)
	}
}
