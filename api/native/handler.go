package native

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/keyhaven/keyhaven/identity"
	"github.com/keyhaven/keyhaven/internal/panics"
	"github.com/keyhaven/keyhaven/keypair"
	"github.com/keyhaven/keyhaven/requestid"
)

// Prefix is where this API is served.
const Prefix = "/keyhaven/v1"

// Config is what the native dialect needs.
type Config struct {
	// Service is the key pair domain, shared with the other dialects.
	Service *keypair.Service
	// Auth authenticates every request but openapi.json (tokens and AK/SK
	// signatures, as for KPS).
	Auth identity.Authenticator
	// Log receives internal errors; never key material.
	Log *slog.Logger
	// Health reports whether the database is reachable.
	Health func(context.Context) error
	// Now is the clock of expiry warnings; time.Now when nil.
	Now func() time.Time
}

// Handler serves /keyhaven/v1/….
type Handler struct {
	svc    *keypair.Service
	auth   identity.Authenticator
	log    *slog.Logger
	health func(context.Context) error
	now    func() time.Time
}

// New returns the native dialect's handler.
func New(cfg Config) *Handler {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Handler{svc: cfg.Service, auth: cfg.Auth, log: cfg.Log, health: cfg.Health, now: cfg.Now}
}

// request is one authenticated request.
type request struct {
	w     http.ResponseWriter
	r     *http.Request
	actor keypair.Actor
}

type operation func(h *Handler, q request, name string) error

// rotateSuffix ends the path segment of a rotation, as in Google's
// custom methods: POST /keypairs/{name}:rotate.
const rotateSuffix = ":rotate"

// route picks the operation for the path after /keyhaven/v1, or the
// methods the path allows when it exists but not with method.
func route(method string, segs []string) (op operation, name, allow string) {
	pick := func(allow string, ops map[string]operation, name string) (operation, string, string) {
		if op, ok := ops[method]; ok {
			return op, name, ""
		}
		return nil, "", allow
	}
	switch {
	case len(segs) == 1 && segs[0] == "keypairs":
		return pick("GET, POST", map[string]operation{"GET": (*Handler).list, "POST": (*Handler).create}, "")
	case len(segs) == 1 && segs[0] == "audit":
		return pick("GET", map[string]operation{"GET": (*Handler).audit}, "")
	case len(segs) == 2 && segs[0] == "keypairs" && segs[1] != "":
		if method == http.MethodPost && strings.HasSuffix(segs[1], rotateSuffix) && len(segs[1]) > len(rotateSuffix) {
			return (*Handler).rotate, strings.TrimSuffix(segs[1], rotateSuffix), ""
		}
		return pick("GET, PATCH, DELETE", map[string]operation{"GET": (*Handler).show, "PATCH": (*Handler).update,
			"DELETE": (*Handler).delete}, segs[1])
	case len(segs) == 3 && segs[0] == "keypairs" && segs[1] != "" && segs[2] == "private-key":
		return pick("GET, DELETE", map[string]operation{"GET": (*Handler).exportPrivate, "DELETE": (*Handler).clearPrivate}, segs[1])
	}
	return nil, "", ""
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			h.writeError(w, r, errors.New("panic: "+panics.Describe(v)))
		}
	}()
	rest, ok := strings.CutPrefix(r.URL.EscapedPath(), Prefix+"/")
	if !ok {
		h.writeError(w, r, fail(http.StatusNotFound, CodeNoRoute, "The resource %s does not exist.", r.URL.Path))
		return
	}
	if rest == "openapi.json" {
		h.openAPI(w, r)
		return
	}
	segs, err := segments(rest)
	if err != nil {
		h.writeError(w, r, fail(http.StatusNotFound, CodeNoRoute, "The resource %s does not exist.", r.URL.Path))
		return
	}
	op, name, allow := route(r.Method, segs)
	if op == nil {
		if allow != "" {
			w.Header().Set("Allow", allow)
			h.writeError(w, r, fail(http.StatusMethodNotAllowed, CodeMethodNotAllowed, "The method %s is not allowed here; use %s.", r.Method, allow))
			return
		}
		h.writeError(w, r, fail(http.StatusNotFound, CodeNoRoute, "The resource %s does not exist.", r.URL.Path))
		return
	}
	p, err := h.auth.Authenticate(r.Context(), r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	q := request{w: w, r: r, actor: keypair.Actor{UserID: p.UserID, ProjectID: p.ProjectID, DomainID: p.DomainID, Roles: p.Roles,
		RemoteAddr: r.RemoteAddr, RequestID: requestid.From(r.Context())}}
	if err := op(h, q, name); err != nil {
		h.writeError(w, r, err)
	}
}

// segments splits an escaped path and unescapes each segment, so that a
// name holding an escaped "/" stays one segment.
func segments(escaped string) ([]string, error) {
	segs := strings.Split(escaped, "/")
	for i, s := range segs {
		u, err := url.PathUnescape(s)
		if err != nil {
			return nil, err
		}
		segs[i] = u
	}
	return segs, nil
}

// writeJSON answers v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		panic(err) // only this package's own view types reach here
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	// A Content-Length, as the real services send, rather than chunks.
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
