package nova

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/keyhaven/keyhaven/api/publicurl"
	"github.com/keyhaven/keyhaven/identity"
	"github.com/keyhaven/keyhaven/internal/panics"
	"github.com/keyhaven/keyhaven/keypair"
	"github.com/keyhaven/keyhaven/requestid"
)

// Config is what the Nova dialect needs from its wiring.
type Config struct {
	// Service is the key pair domain.
	Service *keypair.Service
	// Auth authenticates every request under /v2.1 except the version
	// document.
	Auth identity.Authenticator
	// Log receives internal errors; it never receives key material.
	Log *slog.Logger
	// PublicURL, when set, is the base of every link keyhaven returns (for
	// a service behind a proxy); otherwise links use the address the
	// connection was accepted on (publicurl.Base), never the Host header.
	PublicURL string
	// AuthURI is the identity endpoint advertised in 401 responses; when
	// empty it is the base URL plus "/identity".
	AuthURI string
	// Health reports whether the database is reachable; an internal error
	// while it is not is answered 503 rather than 500.
	Health func(context.Context) error
	// Mode is whose rules os-keypairs follows; empty means ModeNova.
	Mode Mode
}

// Handler serves Nova's version documents and os-keypairs.
type Handler struct {
	svc         *keypair.Service
	auth        identity.Authenticator
	log         *slog.Logger
	publicURL   string
	authURIConf string
	health      func(context.Context) error
	mode        Mode
	// pages holds list answers' buffers for reuse (*[]byte).
	pages sync.Pool
}

// New returns the Nova dialect's handler.
func New(cfg Config) *Handler {
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	mode := cfg.Mode
	if mode == "" {
		mode = ModeNova
	}
	return &Handler{svc: cfg.Service, auth: cfg.Auth, log: log,
		publicURL: cfg.PublicURL, authURIConf: cfg.AuthURI, health: cfg.Health, mode: mode}
}

// baseURL is the scheme, host and port links are built on.
func (h *Handler) baseURL(r *http.Request) string { return publicurl.Base(r, h.publicURL) }

func (h *Handler) authURI(r *http.Request) string {
	if h.authURIConf != "" {
		return h.authURIConf
	}
	return h.baseURL(r) + "/identity"
}

// route is a matched request: which operation, the key pair name and the
// project id from the URL, if any.
type route struct {
	op      string
	name    string
	project string
}

// match maps a path to an operation; ok is false for unknown paths. allow
// lists the methods the path supports.
func match(r *http.Request) (rt route, allow string, ok bool) {
	segs := strings.Split(strings.TrimPrefix(r.URL.EscapedPath(), "/"), "/")
	for i, s := range segs {
		u, err := url.PathUnescape(s)
		if err != nil {
			return rt, "", false
		}
		segs[i] = u
	}
	switch {
	case len(segs) == 1 && segs[0] == "":
		return route{op: "versions"}, "GET", true
	case segs[0] != "v2.1":
		return rt, "", false
	case len(segs) == 1 || (len(segs) == 2 && segs[1] == ""):
		return route{op: "version"}, "GET", true
	}
	rest := segs[1:]
	if rest[0] != "os-keypairs" && rest[0] != "" && len(rest) > 1 && rest[1] == "os-keypairs" {
		rt.project, rest = rest[0], rest[1:]
	}
	switch {
	case len(rest) == 1 && rest[0] == "os-keypairs":
		rt.op = "collection"
		return rt, "GET, POST", true
	case len(rest) == 2 && rest[0] == "os-keypairs" && rest[1] != "":
		rt.op, rt.name = "item", rest[1]
		return rt, "GET, DELETE", true
	}
	return rt, "", false
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer h.recoverPanic(w, r)
	rt, allow, ok := match(r)
	if !ok {
		h.writeError(w, r, &httpError{status: http.StatusNotFound, message: "The resource could not be found."})
		return
	}
	if !slices.Contains(strings.Split(allow, ", "), r.Method) {
		h.writeError(w, r, &httpError{status: http.StatusMethodNotAllowed, allow: allow,
			message: fmt.Sprintf("The method %s is not allowed for this resource.", r.Method)})
		return
	}
	if rt.op == "versions" {
		writeJSON(w, http.StatusOK, "application/json", versionsList(h.baseURL(r)))
		return
	}

	var p identity.Principal
	if rt.op != "version" {
		var err error
		if p, err = h.auth.Authenticate(r.Context(), r); err != nil {
			h.writeError(w, r, err)
			return
		}
	}
	v, err := ParseVersion(r.Header)
	if err != nil {
		var ve *versionError
		if errors.As(err, &ve) && ve.echo != nil {
			setVersionHeaders(w.Header(), *ve.echo)
		}
		h.writeError(w, r, err)
		return
	}
	setVersionHeaders(w.Header(), v)
	if rt.op == "version" {
		writeJSON(w, http.StatusOK, "application/json", versionV21(h.baseURL(r)))
		return
	}
	if rt.project != "" && rt.project != p.ProjectID {
		h.writeError(w, r, badRequest(fmt.Sprintf("Malformed request URL: URL's project_id '%s' doesn't match Context's project_id '%s'", rt.project, p.ProjectID)))
		return
	}
	actor := keypair.Actor{UserID: p.UserID, ProjectID: p.ProjectID, DomainID: p.DomainID, Roles: p.Roles,
		RemoteAddr: r.RemoteAddr, RequestID: requestid.From(r.Context())}
	req := request{w: w, r: r, v: v, actor: actor, rt: rt}
	switch {
	case rt.op == "collection" && r.Method == http.MethodPost:
		err = h.create(req)
	case rt.op == "collection":
		err = h.list(req)
	case r.Method == http.MethodDelete:
		err = h.delete(req)
	default:
		err = h.show(req)
	}
	if err != nil {
		h.writeError(w, r, err)
	}
}

// recoverPanic turns a panic into Nova's 500 so one bad request cannot take
// the connection down without an answer.
func (h *Handler) recoverPanic(w http.ResponseWriter, r *http.Request) {
	if v := recover(); v != nil {
		if v == http.ErrAbortHandler {
			panic(v)
		}
		h.writeError(w, r, errors.New("panic: "+panics.Describe(v)))
	}
}

// request is one authenticated, version-negotiated keypair request.
type request struct {
	w     http.ResponseWriter
	r     *http.Request
	v     Version
	actor keypair.Actor
	rt    route
}

// readBody reads a request body, mapping an over-limit body to 413 and an
// unsupported Content-Type to 415 as Nova does.
func readBody(r *http.Request) ([]byte, error) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "text/plain" && mt != "application/json" && mt != "application/vnd.openstack.compute+json") {
			return nil, &httpError{status: http.StatusUnsupportedMediaType, message: "Unsupported Content-Type"}
		}
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, &httpError{status: http.StatusRequestEntityTooLarge, message: "Request is too large."}
		}
		return nil, badRequest("Malformed request body")
	}
	return body, nil
}

func (h *Handler) create(q request) error {
	body, err := readBody(q.r)
	if err != nil {
		return err
	}
	in, err := decodeCreate(body, q.v, h.mode)
	if err != nil {
		return err
	}
	created, err := h.svc.Create(q.r.Context(), q.actor, keypair.CreateInput{
		Name: in.Name, Type: in.Type, PublicKey: in.PublicKey, UserID: in.UserID, Protection: in.Protection,
	})
	if err != nil {
		return err
	}
	status := http.StatusOK
	if q.v.AtLeast(2, 2) {
		status = http.StatusCreated
	}
	writeJSON(q.w, status, "application/json", viewCreated(created, q.v))
	return nil
}

func (h *Handler) list(q request) error {
	query := q.r.URL.Query()
	lq, err := decodeListQuery(query, q.v)
	if err != nil {
		return err
	}
	var kps []keypair.Listed
	paged := q.v.AtLeast(2, 35)
	// Nova answers limit=0 with an empty page without looking at the
	// marker, but still after policy; the store reads Limit 0 as "no
	// limit", so ask it for one key pair and show none.
	page := lq.Page
	if paged && page.Limit == 0 {
		page = keypair.Page{Limit: 1}
	}
	if kps, err = h.svc.List(q.r.Context(), q.actor, lq.UserID, page); err != nil {
		return err
	}
	if paged && lq.Page.Limit == 0 {
		kps = nil
	}
	next := ""
	if paged && lq.Page.Limit > 0 && len(kps) == lq.Page.Limit {
		next = nextHref(h.baseURL(q.r), q.rt.project, query, kps[len(kps)-1].Name)
	}
	h.writeList(q.w, viewList(kps, q.v, next))
	return nil
}

func (h *Handler) show(q request) error {
	user, err := decodeItemQuery(q.r.URL.Query(), q.v)
	if err != nil {
		return err
	}
	kp, err := h.svc.Get(q.r.Context(), q.actor, user, q.rt.name)
	if err != nil {
		return err
	}
	writeJSON(q.w, http.StatusOK, "application/json", viewShow(kp, q.v))
	return nil
}

func (h *Handler) delete(q request) error {
	user, err := decodeItemQuery(q.r.URL.Query(), q.v)
	if err != nil {
		return err
	}
	if err := h.svc.Delete(q.r.Context(), q.actor, user, q.rt.name); err != nil {
		return err
	}
	status := http.StatusAccepted
	if q.v.AtLeast(2, 2) {
		status = http.StatusNoContent
	}
	q.w.Header().Set("Content-Type", "application/json")
	q.w.WriteHeader(status)
	return nil
}
