package server

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/keyhaven/keyhaven/internal/panics"
	"github.com/keyhaven/keyhaven/requestid"
)

// DefaultMaxBodyBytes is the largest request body accepted: far above any
// key pair request, far below what could hurt the server.
const DefaultMaxBodyBytes = 64 << 10

// Config is what the server needs from its wiring.
type Config struct {
	// Nova serves "/" and "/v2.1": the version documents and os-keypairs.
	Nova http.Handler
	// Identity, when not nil, serves "/identity": the built-in identity
	// service's Keystone v3 API.
	Identity http.Handler
	// KPS, when not nil, serves "/v3/": Huawei Cloud KPS v3.
	KPS http.Handler
	// Native, when not nil, serves "/keyhaven/": keyhaven's own API.
	Native http.Handler
	// Console, when not nil, serves "/console" and "/console/": the web
	// console's static files (package web).
	Console http.Handler
	// Health reports whether the service can serve; nil means always.
	Health func(context.Context) error
	// Log receives the access log and server errors.
	Log *slog.Logger
	// MaxBodyBytes caps request bodies; DefaultMaxBodyBytes when 0.
	MaxBodyBytes int64
	// ShutdownTimeout bounds how long in-flight requests may take to
	// finish after a stop is asked; 30 s when 0.
	ShutdownTimeout time.Duration
	// MaxConnections caps the connections served at once (limit.go);
	// DefaultMaxConnections when 0.
	MaxConnections int
	// HealthReserve is how many connections past MaxConnections are
	// accepted to answer /healthz; DefaultHealthReserve when 0.
	HealthReserve int
	// ReadTimeout bounds the reading of one request, headers and body;
	// DefaultReadTimeout when 0.
	ReadTimeout time.Duration
	// Observer, when not nil, is told of every answered request (the
	// metrics).
	Observer RequestObserver
	// Metrics, when not nil, serves "/metrics".
	Metrics http.Handler
	// Debug, when not nil, serves "/debug/pprof/"; it must authorise its
	// callers itself (see AdminOnly).
	Debug http.Handler
}

// RequestObserver is told of each request the server answered, labelled
// by its dialect and operation (a small fixed set, see classify).
type RequestObserver interface {
	ObserveRequest(dialect, operation string, status int, d time.Duration)
}

// Server is keyhaven's HTTP server.
type Server struct {
	cfg     Config
	handler http.Handler
	// healthz answers /healthz, on the main listener, the reserve past
	// the connection cap and the optional health listener alike.
	healthz http.Handler
}

// New assembles the server's handler chain.
func New(cfg Config) *Server {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.ShutdownTimeout == 0 {
		cfg.ShutdownTimeout = 30 * time.Second
	}
	if cfg.MaxConnections == 0 {
		cfg.MaxConnections = DefaultMaxConnections
	}
	if cfg.HealthReserve == 0 {
		cfg.HealthReserve = DefaultHealthReserve
	}
	if cfg.ReadTimeout == 0 {
		cfg.ReadTimeout = DefaultReadTimeout
	}
	s := &Server{cfg: cfg, healthz: healthHandler(cfg)}
	mux := &router{health: s.healthz, nova: cfg.Nova, identity: cfg.Identity, kps: cfg.KPS, native: cfg.Native, console: cfg.Console, metrics: cfg.Metrics, debug: cfg.Debug}
	s.handler = s.requestID(s.accessLog(s.recover(s.limitBody(mux))))
	return s
}

// Handler returns the complete handler chain, for tests and embedding.
func (s *Server) Handler() http.Handler { return s.handler }

// Serve answers requests on ln until ctx is done, then stops accepting,
// lets in-flight requests finish (up to ShutdownTimeout) and returns.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: min(5*time.Second, s.cfg.ReadTimeout),
		ReadTimeout:       s.cfg.ReadTimeout,
		WriteTimeout:      DefaultWriteTimeout,
		IdleTimeout:       DefaultIdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          s.errorLog(),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	ll := newLimitListener(ln, s.cfg.MaxConnections, s.cfg.HealthReserve)
	hs.ConnState = ll.connState
	rctx, stopReserve := context.WithCancel(ctx)
	defer stopReserve()
	go s.serveReserve(rctx, ll)
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ll) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func (s *Server) errorLog() *log.Logger {
	return slog.NewLogLogger(s.cfg.Log.Handler(), slog.LevelWarn)
}

// RequestID returns the id the server gave the request carried by ctx.
func RequestID(ctx context.Context) string { return requestid.From(ctx) }

// requestID gives every request a Nova-style id, in both headers Nova
// uses, written in Nova's lower case, and in X-Request-Id, the header
// Huawei's SDKs and Terraform provider read into their error messages.
func (s *Server) requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := "req-" + uuid.NewString()
		h := w.Header()
		// One slice for the three headers (capacity 1: an Add to one
		// copies it rather than changing the others).
		v := []string{id}
		h["x-openstack-request-id"] = v
		h["x-compute-request-id"] = v
		h["X-Request-Id"] = v
		next.ServeHTTP(w, r.WithContext(requestid.With(r.Context(), id)))
	})
}

// recover answers a panic that escaped a dialect with a bare 500; dialects
// recover their own panics first to answer in their own format.
func (s *Server) recover(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.cfg.Log.ErrorContext(r.Context(), "panic", "request_id", RequestID(r.Context()), "panic", panics.Describe(v))
				http.Error(w, "internal error", http.StatusInternalServerError)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// limitBody caps request bodies; dialects turn the read error into a 413 in
// their own format.
func (s *Server) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
		}
		next.ServeHTTP(w, r)
	})
}

// statusWriter remembers the status and size of a response for the log.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// accessLog writes one line per request and tells the observer. It logs
// the method, path, status and timing only: never bodies or headers, which
// hold keys and tokens.
func (s *Server) accessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		d := time.Since(start)
		if s.cfg.Observer != nil {
			dialect, op := classify(r.Method, r.URL.Path)
			s.cfg.Observer.ObserveRequest(dialect, op, sw.status, d)
		}
		s.cfg.Log.LogAttrs(r.Context(), slog.LevelInfo, "request",
			slog.String("request_id", RequestID(r.Context())),
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Int("status", sw.status),
			slog.Int64("bytes", sw.bytes),
			slog.Duration("duration", d),
			slog.String("remote", r.RemoteAddr),
		)
	})
}
