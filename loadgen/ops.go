package loadgen

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// The operations a run can time.
const (
	OpImport    = "import"     // Nova: import a public key under a new name
	OpShow      = "show"       // Nova: show one key pair
	OpList      = "list"       // Nova: list a page of 50 (microversion 2.35)
	OpDelete    = "delete"     // Nova: delete a key pair made before timing
	OpGenerate  = "generate"   // Nova: generate an RSA-2048 key pair
	OpKPSCreate = "kps-create" // KPS: generate a key pair kept in escrow
	OpKPSExport = "kps-export" // KPS: export an escrowed private key
	OpLogin     = "login"      // identity: password login, project-scoped
	// OpHealthz is keyhaven's unauthenticated GET /healthz: what the HTTP
	// stack and the machine give a request that does nothing, the ceiling
	// the other operations are measured against.
	OpHealthz = "healthz"
)

// loadPublicKey is the public key every import sends (names differ).
const loadPublicKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBrCjG9fCb9CCti5X/udSkBtPhQj1xLbHxE4m6K/RpWu load"

// listPage is the page size of the list operation.
const listPage = 50

// state is what the operations against one target share: its session,
// the run's name prefix, and the key pairs import made for delete.
type state struct {
	s      *session
	cfg    *Config
	prefix string
	seq    atomic.Int64

	mu       sync.Mutex
	imported []string // names import created, for delete to remove
	doomed   []string // names delete removes, in order
	next     atomic.Int64
}

// name returns a key pair name no other request of the run uses.
func (st *state) name(kind string) string {
	return st.prefix + kind + "-" + strconv.FormatInt(st.seq.Add(1), 10)
}

// operation is one kind of request under load.
type operation struct {
	// setup prepares the target before timing; a non-nil skip reason
	// means the operation does not apply to it (e.g. KPS on Nova).
	setup func(ctx context.Context, st *state) (skip string, err error)
	// next returns the call one worker sends next; false when there is
	// nothing left to send (delete ran out of key pairs).
	next func(st *state) (call, bool)
	// done is told of each successful call's name, when it made one.
	done func(st *state, name string)
}

func novaImport(name string) call {
	return call{method: http.MethodPost, path: "/v2.1/os-keypairs", mv: "2.2", name: name,
		body: `{"keypair": {"name": "` + name + `", "public_key": "` + loadPublicKey + `"}}`}
}

func kpsCreate(st *state, name string) call {
	return call{method: http.MethodPost, path: "/v3/" + st.s.projectID + "/keypairs",
		body: `{"keypair": {"name": "` + name + `", "key_protection": {"encryption": {"type": "default"}}}}`}
}

// must sends c during setup and fails unless it succeeds.
func must(ctx context.Context, st *state, c call) error {
	res, err := st.s.do(ctx, c)
	if err != nil {
		return err
	}
	if res.status/100 != 2 {
		return fmt.Errorf("%s %s: %d %s", c.method, c.path, res.status, trim(res.body))
	}
	return nil
}

// kpsApplies says why KPS does not apply to a target, or "".
func kpsApplies(ctx context.Context, st *state) (string, error) {
	if st.s.projectID == "" {
		return "no project id (--project-id)", nil
	}
	res, err := st.s.do(ctx, call{method: http.MethodGet, path: "/v3/" + st.s.projectID + "/keypairs", query: url.Values{"limit": {"1"}}})
	if err != nil {
		return "", err
	}
	// Nova answers paths it does not serve with 404 or its 300 version
	// choice; a KPS answers a list with a "keypairs" member.
	if res.status != http.StatusOK || !strings.Contains(string(res.body), `"keypairs"`) {
		return fmt.Sprintf("no KPS API (a list answered %d)", res.status), nil
	}
	return "", nil
}

// operations maps each operation's name to what it does.
var operations = map[string]operation{
	OpImport: {
		next: func(st *state) (call, bool) { return novaImport(st.name("i")), true },
		done: func(st *state, name string) { st.mu.Lock(); st.imported = append(st.imported, name); st.mu.Unlock() },
	},
	OpShow: {
		setup: func(ctx context.Context, st *state) (string, error) {
			return "", must(ctx, st, novaImport(st.prefix+"show"))
		},
		next: func(st *state) (call, bool) {
			return call{method: http.MethodGet, path: "/v2.1/os-keypairs/" + st.prefix + "show", mv: "2.2"}, true
		},
	},
	OpList: {
		setup: func(ctx context.Context, st *state) (string, error) {
			return "", parallel(ctx, st, listPage, func(i int) call { return novaImport(fmt.Sprintf("%slist-%02d", st.prefix, i)) })
		},
		next: func(st *state) (call, bool) {
			return call{method: http.MethodGet, path: "/v2.1/os-keypairs", mv: "2.35", query: url.Values{"limit": {strconv.Itoa(listPage)}}}, true
		},
	},
	OpDelete: {
		setup: func(ctx context.Context, st *state) (string, error) {
			st.mu.Lock()
			st.doomed, st.imported = st.imported, nil
			st.mu.Unlock()
			if len(st.doomed) > 0 {
				return "", nil
			}
			names := make([]string, st.cfg.DeleteSetup)
			for i := range names {
				names[i] = st.name("d")
			}
			st.doomed = names
			return "", parallel(ctx, st, len(names), func(i int) call { return novaImport(names[i]) })
		},
		next: func(st *state) (call, bool) {
			i := st.next.Add(1) - 1
			if i >= int64(len(st.doomed)) {
				return call{}, false
			}
			return call{method: http.MethodDelete, path: "/v2.1/os-keypairs/" + st.doomed[i], mv: "2.2"}, true
		},
	},
	OpGenerate: {
		next: func(st *state) (call, bool) {
			return call{method: http.MethodPost, path: "/v2.1/os-keypairs", mv: "2.2",
				body: `{"keypair": {"name": "` + st.name("g") + `"}}`}, true
		},
	},
	OpKPSCreate: {
		setup: kpsApplies,
		next:  func(st *state) (call, bool) { return kpsCreate(st, st.name("k")), true },
	},
	OpKPSExport: {
		setup: func(ctx context.Context, st *state) (string, error) {
			if skip, err := kpsApplies(ctx, st); skip != "" || err != nil {
				return skip, err
			}
			return "", must(ctx, st, kpsCreate(st, st.prefix+"export"))
		},
		next: func(st *state) (call, bool) {
			return call{method: http.MethodPost, path: "/v3/" + st.s.projectID + "/keypairs/private-key/export",
				body: `{"keypair": {"name": "` + st.prefix + `export"}}`}, true
		},
	},
	OpHealthz: {
		setup: func(ctx context.Context, st *state) (string, error) {
			res, err := st.s.do(ctx, healthz)
			if err != nil {
				return "", err
			}
			if res.status != http.StatusOK {
				return fmt.Sprintf("no /healthz (it answered %d)", res.status), nil
			}
			return "", nil
		},
		next: func(*state) (call, bool) { return healthz, true },
	},
	OpLogin: {
		setup: func(ctx context.Context, st *state) (string, error) {
			cr := st.cfg.Credentials
			if cr.Username == "" || cr.Password == "" || cr.Project == "" {
				return "no --username, --password, --project", nil
			}
			res, err := st.s.do(ctx, loginCall(cr))
			switch {
			case err != nil:
				return "", err
			case res.status == http.StatusNotFound || res.status == http.StatusMultipleChoices:
				return fmt.Sprintf("no identity API (a login answered %d)", res.status), nil
			case res.status != http.StatusCreated:
				return "", fmt.Errorf("login: %d %s", res.status, trim(res.body))
			}
			return "", nil
		},
		next: func(st *state) (call, bool) { return loginCall(st.cfg.Credentials), true },
	},
}

// healthz is OpHealthz's request.
var healthz = call{method: http.MethodGet, path: "/healthz", noAuth: true}

// parallel sends n setup calls, a few at a time.
func parallel(ctx context.Context, st *state, n int, mk func(int) call) error {
	var next atomic.Int64
	errs := make(chan error, st.cfg.Connections)
	for range st.cfg.Connections {
		go func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					errs <- nil
					return
				}
				if err := must(ctx, st, mk(i)); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	var first error
	for range st.cfg.Connections {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}
