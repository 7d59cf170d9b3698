package identity

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strings"

	"github.com/keyhaven/keyhaven/api/publicurl"
	"github.com/keyhaven/keyhaven/identity"
	"github.com/keyhaven/keyhaven/identity/builtin"
	"github.com/keyhaven/keyhaven/policy"
)

// Service is one entry of the catalog: a service type, its name and the
// path of its endpoint below the public URL.
type Service struct {
	Type, Name, Path string
}

// Config is what the identity dialect needs.
type Config struct {
	// Identity is the built-in identity service.
	Identity *builtin.Service
	// Catalog lists the services tokens advertise.
	Catalog []Service
	// Region names the catalog's region; "RegionOne" when empty.
	Region string
	// PublicURL is the base of every URL returned; when empty, the address
	// the connection was accepted on (publicurl.Base), never the Host
	// header.
	PublicURL string
	// Log receives internal errors, never tokens or secrets.
	Log *slog.Logger
	// Health reports whether the database is reachable; an internal error
	// while it is not is answered 503 rather than 500.
	Health func(context.Context) error
}

// Handler serves /identity.
type Handler struct {
	svc       *builtin.Service
	services  []Service
	region    string
	publicURL string
	log       *slog.Logger
	health    func(context.Context) error
}

// New returns the identity dialect's handler.
func New(cfg Config) *Handler {
	if cfg.Region == "" {
		cfg.Region = "RegionOne"
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Handler{svc: cfg.Identity, services: cfg.Catalog, region: cfg.Region,
		publicURL: cfg.PublicURL, log: cfg.Log, health: cfg.Health}
}

func (h *Handler) baseURL(r *http.Request) string { return publicurl.Base(r, h.publicURL) }

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			h.writeError(w, r, errors.New("panic"))
		}
	}()
	path := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/identity"), "/")
	base := h.baseURL(r)
	var err error
	switch {
	case path == "":
		err = allow(r, "GET", "HEAD")
		if err == nil {
			writeJSON(w, http.StatusMultipleChoices, map[string]any{"versions": map[string]any{"values": []any{versionDoc(base)}}})
		}
	case path == "/v3":
		err = allow(r, "GET", "HEAD")
		if err == nil {
			writeJSON(w, http.StatusOK, map[string]any{"version": versionDoc(base)})
		}
	case path == "/v3/auth/tokens":
		switch r.Method {
		case http.MethodPost:
			err = h.issue(w, r, base)
		case http.MethodGet, http.MethodHead:
			err = h.validate(w, r, base)
		case http.MethodDelete:
			err = h.revoke(w, r)
		default:
			err = notAllowed(w, "GET, HEAD, POST, DELETE")
		}
	case strings.HasPrefix(path, "/v3/users/") && strings.Contains(path, "/credentials/"):
		err = h.credentials(w, r, base, strings.TrimPrefix(path, "/v3/users/"))
	default:
		handled := false
		if rest, ok := strings.CutPrefix(path, "/v3/"); ok {
			handled, err = h.admin(w, r, base, strings.Split(rest, "/"))
		}
		if !handled {
			err = &httpError{status: http.StatusNotFound, message: "The resource could not be found."}
		}
	}
	if err != nil {
		h.writeError(w, r, err)
	}
}

func allow(r *http.Request, methods ...string) error {
	for _, m := range methods {
		if r.Method == m {
			return nil
		}
	}
	return &httpError{status: http.StatusMethodNotAllowed, message: "The method is not allowed for the requested URL."}
}

func notAllowed(w http.ResponseWriter, allow string) error {
	w.Header().Set("Allow", allow)
	return &httpError{status: http.StatusMethodNotAllowed, message: "The method is not allowed for the requested URL."}
}

// decode reads a JSON body into v, refusing unknown shapes with 400 and an
// over-limit body with 413.
func decode(r *http.Request, v any) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return &httpError{status: http.StatusRequestEntityTooLarge, message: "Request is too large."}
		}
		return badRequest("Could not read the request body.")
	}
	if len(body) == 0 {
		return badRequest("The request body is empty; it must be a JSON object.")
	}
	if err := json.Unmarshal(body, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return typeError(te)
		}
		return badRequest("Malformed request body: it is not valid JSON.")
	}
	return nil
}

// typeError words a JSON type mismatch for people: the field's path and
// the JSON types wanted and given, never the Go type it was decoded into.
func typeError(te *json.UnmarshalTypeError) error {
	want := jsonKind(te.Type)
	got, _, _ := strings.Cut(te.Value, " ") // "number 1e400" carries the value
	if te.Field == "" {
		return badRequest("Invalid input: the request body must be %s, not %s.", want, article(got))
	}
	return badRequest("Invalid input for field '%s': expected %s, got %s.", te.Field, want, article(got))
}

// jsonKind names the JSON type a Go type is decoded from.
func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	return "another type"
}

// article puts "a" or "an" before the JSON type name encoding/json reports
// ("string", "number", "array", "object", "bool").
func article(value string) string {
	switch value {
	case "array":
		return "a list"
	case "object":
		return "an object"
	case "bool":
		return "a boolean"
	case "":
		return "something else"
	}
	return "a " + value
}

// caller authenticates the X-Auth-Token of a request to the identity API.
func (h *Handler) caller(r *http.Request) (identity.Principal, error) {
	return h.svc.Authenticate(r.Context(), r)
}

// freshCaller is caller for the calls that change identity: it reads
// withdrawn access from the store first (builtin.AuthenticateFresh).
func (h *Handler) freshCaller(r *http.Request) (identity.Principal, error) {
	return h.svc.AuthenticateFresh(r.Context(), r)
}

func subject(p identity.Principal) policy.Subject {
	return policy.Subject{UserID: p.UserID, ProjectID: p.ProjectID, Roles: p.Roles}
}
