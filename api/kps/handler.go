package kps

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/keyhaven/keyhaven/identity"
	"github.com/keyhaven/keyhaven/internal/panics"
	"github.com/keyhaven/keyhaven/keypair"
	"github.com/keyhaven/keyhaven/requestid"
	"github.com/keyhaven/keyhaven/task"
)

// Config is what the KPS dialect needs.
type Config struct {
	// Service is the key pair domain, shared with the Nova dialect.
	Service *keypair.Service
	// Auth authenticates every request (tokens and AK/SK signatures).
	Auth identity.Authenticator
	// Log receives internal errors; never key material.
	Log *slog.Logger
	// Health reports whether the database is reachable; an internal error
	// while it is not is answered 503 with Huawei's database code
	// (KPS.5001–5004) rather than 500.
	Health func(context.Context) error
	// Tasks associates key pairs with servers; nil leaves the seven task
	// operations unserved (404).
	Tasks *task.Service
}

// Handler serves /v3/{project_id}/….
type Handler struct {
	svc    *keypair.Service
	auth   identity.Authenticator
	log    *slog.Logger
	health func(context.Context) error
	tasks  *task.Service
}

// New returns the KPS dialect's handler.
func New(cfg Config) *Handler {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Handler{svc: cfg.Service, auth: cfg.Auth, log: cfg.Log, health: cfg.Health, tasks: cfg.Tasks}
}

// request is one authenticated KPS request.
type request struct {
	w     http.ResponseWriter
	r     *http.Request
	actor keypair.Actor
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
	segs, err := segments(r)
	if err != nil || len(segs) < 3 || segs[0] != "v3" || segs[1] == "" {
		h.writeError(w, r, fail(ErrResourceNotFound, "The resource %s does not exist.", r.URL.Path))
		return
	}
	var op operation
	var name, allow string
	var db ErrorCode
	switch {
	case segs[2] == "keypairs":
		op, name, allow, db = route(r.Method, segs[3:], h.tasks != nil)
	case h.tasks != nil:
		op, name, allow, db = taskRoute(r.Method, segs[2:])
	}
	if op == nil {
		if allow != "" {
			w.Header().Set("Allow", allow)
			h.writeError(w, r, fail(ErrMethodNotAllowed, "The method %s is not allowed here; use %s.", r.Method, allow))
			return
		}
		h.writeError(w, r, fail(ErrResourceNotFound, "The resource %s does not exist.", r.URL.Path))
		return
	}
	p, err := h.auth.Authenticate(r.Context(), r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if segs[1] != p.ProjectID {
		h.writeError(w, r, fail(ErrNotAuthorized, "The project %s in the URL is not the project your credentials are scoped to.", segs[1]))
		return
	}
	q := request{w: w, r: r, actor: keypair.Actor{UserID: p.UserID, ProjectID: p.ProjectID, DomainID: p.DomainID, Roles: p.Roles,
		RemoteAddr: r.RemoteAddr, RequestID: requestid.From(r.Context())}}
	if err := op(h, q, name); err != nil {
		h.writeErrorAs(w, r, err, db)
	}
}

// segments splits the escaped path and unescapes each segment, so that a
// name holding an escaped "/" stays one segment.
func segments(r *http.Request) ([]string, error) {
	segs := strings.Split(strings.Trim(r.URL.EscapedPath(), "/"), "/")
	for i, s := range segs {
		u, err := url.PathUnescape(s)
		if err != nil {
			return nil, err
		}
		segs[i] = u
	}
	return segs, nil
}

type operation func(h *Handler, q request, name string) error

// route picks the operation for the path after /v3/{project_id}/keypairs,
// with the database outage code of what it writes or reads (Huawei's
// KPS.5001–5004). With no match it returns the methods the path allows,
// if it exists.
func route(method string, rest []string, tasks bool) (operation, string, string, ErrorCode) {
	pick := func(allow string, ops map[string]entry, name string) (operation, string, string, ErrorCode) {
		return pickOp(method, allow, ops, name)
	}
	if tasks && len(rest) == 1 && method == http.MethodPost {
		// POST on these names is a task operation; other methods still
		// reach a key pair of that name.
		switch rest[0] {
		case "associate":
			return (*Handler).associate, "", "", ErrDatabaseInsert
		case "disassociate":
			return (*Handler).disassociate, "", "", ErrDatabaseInsert
		case "batch-associate":
			return (*Handler).batchAssociate, "", "", ErrDatabaseInsert
		}
	}
	switch {
	case len(rest) == 0:
		return pick("GET, POST", map[string]entry{"GET": {(*Handler).list, ErrDatabaseQuery}, "POST": {(*Handler).create, ErrDatabaseInsert}}, "")
	case len(rest) == 1 && rest[0] == "batch-import":
		return pick("POST", map[string]entry{"POST": {(*Handler).batchImport, ErrDatabaseInsert}}, "")
	case len(rest) == 2 && rest[0] == "private-key" && rest[1] == "import":
		return pick("POST", map[string]entry{"POST": {(*Handler).importPrivate, ErrDatabaseUpdate}}, "")
	case len(rest) == 2 && rest[0] == "private-key" && rest[1] == "export":
		return pick("POST", map[string]entry{"POST": {(*Handler).exportPrivate, ErrDatabaseQuery}}, "")
	case len(rest) == 2 && rest[0] == "private-key" && rest[1] == "batch-export":
		return pick("POST", map[string]entry{"POST": {(*Handler).batchExport, ErrDatabaseQuery}}, "")
	case len(rest) == 1 && tasks && (rest[0] == "associate" || rest[0] == "disassociate" || rest[0] == "batch-associate"):
		return pick("GET, PUT, DELETE, POST", map[string]entry{"GET": {(*Handler).show, ErrDatabaseQuery},
			"PUT": {(*Handler).updateDescription, ErrDatabaseUpdate}, "DELETE": {(*Handler).delete, ErrDatabaseDelete}}, rest[0])
	case len(rest) == 1 && rest[0] != "":
		return pick("GET, PUT, DELETE", map[string]entry{"GET": {(*Handler).show, ErrDatabaseQuery},
			"PUT": {(*Handler).updateDescription, ErrDatabaseUpdate}, "DELETE": {(*Handler).delete, ErrDatabaseDelete}}, rest[0])
	case len(rest) == 2 && rest[0] != "" && rest[1] == "private-key":
		// Clearing removes the sealed copy; the key pair's record stays.
		return pick("DELETE", map[string]entry{"DELETE": {(*Handler).clearPrivate, ErrDatabaseUpdate}}, rest[0])
	}
	return nil, "", "", ErrorCode{}
}

// entry is one operation of a route, with the database outage code of
// what it writes or reads.
type entry struct {
	op operation
	db ErrorCode
}

// pickOp returns the operation of ops for method, or the methods the path
// allows.
func pickOp(method, allow string, ops map[string]entry, name string) (operation, string, string, ErrorCode) {
	if e, ok := ops[method]; ok {
		return e.op, name, "", e.db
	}
	return nil, "", allow, ErrorCode{}
}

// decode reads a JSON body strictly into v: unknown fields, wrong types,
// trailing data and over-limit bodies are refused with KPS's codes.
func decode(r *http.Request, v any) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return fail(ErrTooLarge, "The request body is larger than %d bytes.", mbe.Limit)
		}
		return fail(ErrInvalidParameter, "The request body could not be read.")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return fail(ErrInvalidParameter, "The request body is empty; it must be JSON.")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		var se *json.SyntaxError
		switch {
		case errors.As(err, &te):
			return fail(ErrInvalidParameter, "The field %s must be of type %s.", te.Field, jsonType(te.Type.String()))
		case errors.As(err, &se):
			return fail(ErrInvalidParameter, "The request body is not valid JSON (at byte %d).", se.Offset)
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			return fail(ErrInvalidParameter, "The field %s is not allowed.", strings.TrimPrefix(err.Error(), "json: unknown field "))
		}
		return fail(ErrInvalidParameter, "The request body is not valid JSON.")
	}
	if dec.More() {
		return fail(ErrInvalidParameter, "The request body holds data after its JSON value.")
	}
	return nil
}

// jsonType names a Go type as the JSON type a client would recognise.
func jsonType(goType string) string {
	switch {
	case strings.HasPrefix(goType, "[]"):
		return "array"
	case strings.Contains(goType, "string"):
		return "string"
	case strings.Contains(goType, "bool"):
		return "boolean"
	case strings.Contains(goType, "int"), strings.Contains(goType, "float"):
		return "number"
	}
	return "object"
}
