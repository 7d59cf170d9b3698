package nova

import (
	"net/url"
	"sort"
	"strings"

	"github.com/keyhaven/keyhaven/keypair"
)

// Views emit exactly the fields Nova emits at each microversion, in Nova's
// order: clients validate these shapes strictly.

// timeFormat is how Nova's JSON encoder prints datetimes.
const timeFormat = "2006-01-02T15:04:05.000000"

type createView struct {
	PrivateKey  string `json:"private_key,omitempty"`
	Type        string `json:"type,omitempty"`
	Name        string `json:"name"`
	PublicKey   string `json:"public_key"`
	Fingerprint string `json:"fingerprint"`
	UserID      string `json:"user_id"`
}

// The wrappers are structs rather than maps: encoding/json then writes the
// one key without sorting map keys or boxing the view, on every request.
type createBody struct {
	Keypair createView `json:"keypair"`
}

type showBody struct {
	Keypair showView `json:"keypair"`
}

func viewCreated(c *keypair.Created, v Version) createBody {
	kp := c.KeyPair
	cv := createView{PrivateKey: c.PrivateKey, Name: kp.Name, PublicKey: kp.PublicKey, Fingerprint: kp.Fingerprint, UserID: kp.UserID}
	if v.AtLeast(2, 2) {
		cv.Type = string(kp.Type)
	}
	return createBody{Keypair: cv}
}

type showView struct {
	Name        string  `json:"name"`
	PublicKey   string  `json:"public_key"`
	Fingerprint string  `json:"fingerprint"`
	UserID      string  `json:"user_id"`
	CreatedAt   string  `json:"created_at"`
	Deleted     bool    `json:"deleted"`
	DeletedAt   *string `json:"deleted_at"`
	ID          int64   `json:"id"`
	UpdatedAt   *string `json:"updated_at"`
	Type        string  `json:"type,omitempty"`
}

func viewShow(kp *keypair.KeyPair, v Version) showBody {
	sv := showView{Name: kp.Name, PublicKey: kp.PublicKey, Fingerprint: kp.Fingerprint, UserID: kp.UserID,
		CreatedAt: kp.CreatedAt.UTC().Format(timeFormat), ID: kp.ID}
	if v.AtLeast(2, 2) {
		sv.Type = string(kp.Type)
	}
	return showBody{Keypair: sv}
}

type listItem struct {
	Name        string `json:"name"`
	PublicKey   string `json:"public_key"`
	Fingerprint string `json:"fingerprint"`
	Type        string `json:"type,omitempty"`
}

type link struct {
	Rel  string `json:"rel"`
	Href string `json:"href"`
}

// listEntry wraps each item of a page as Nova does, {"keypair": {...}}; a
// struct rather than a map, which encoding/json would sort and box.
type listEntry struct {
	Keypair listItem `json:"keypair"`
}

type listView struct {
	Keypairs []listEntry `json:"keypairs"`
	Links    []link      `json:"keypairs_links,omitempty"`
}

// viewList renders a list page; next is the href of the next page, "" when
// there is none.
func viewList(kps []keypair.Listed, v Version, next string) listView {
	lv := listView{Keypairs: make([]listEntry, 0, len(kps))}
	for _, kp := range kps {
		it := listItem{Name: kp.Name, PublicKey: kp.PublicKey, Fingerprint: kp.Fingerprint}
		if v.AtLeast(2, 2) {
			it.Type = string(kp.Type)
		}
		lv.Keypairs = append(lv.Keypairs, listEntry{Keypair: it})
	}
	if next != "" {
		lv.Links = []link{{Rel: "next", Href: next}}
	}
	return lv
}

// nextHref builds Nova's next link: the collection URL (with the project id
// only when the request URL had one) and the request's query, sorted by key
// with duplicates collapsed to their last value, marker replaced by the last
// name, encoded as Python's urlencode does.
func nextHref(base, project string, q url.Values, marker string) string {
	keys := make([]string, 0, len(q)+1)
	vals := map[string]string{}
	for k, vs := range q {
		if len(vs) == 0 {
			continue
		}
		keys = append(keys, k)
		vals[k] = vs[len(vs)-1]
	}
	if _, ok := vals["marker"]; !ok {
		keys = append(keys, "marker")
	}
	vals["marker"] = marker
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = url.QueryEscape(k) + "=" + url.QueryEscape(vals[k])
	}
	href := base + "/v2.1/"
	if project != "" {
		href += project + "/"
	}
	return href + "os-keypairs?" + strings.Join(parts, "&")
}
