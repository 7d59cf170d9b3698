package kps

import (
	"net/http"
	"regexp"
	"strconv"

	"github.com/keyhaven/keyhaven/keypair"
)

// kpsName is KPS's name rule for new key pairs; existing names made
// through Nova (spaces, "@", ".") still resolve in paths.
var kpsName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// MaxDescription is the longest description accepted.
const MaxDescription = 255

type encryptionBody struct {
	Type       *string `json:"type"`
	KMSKeyName *string `json:"kms_key_name"`
	KMSKeyID   *string `json:"kms_key_id"`
}

type protectionBody struct {
	PrivateKey *string         `json:"private_key"`
	Encryption *encryptionBody `json:"encryption"`
}

type createBody struct {
	Keypair *struct {
		Name          *string         `json:"name"`
		Type          *string         `json:"type"`
		PublicKey     *string         `json:"public_key"`
		Scope         *string         `json:"scope"`
		UserID        *string         `json:"user_id"`
		KeyProtection *protectionBody `json:"key_protection"`
	} `json:"keypair"`
}

func protection(p *protectionBody, where string) (*keypair.Protection, error) {
	if p == nil {
		return nil, nil
	}
	if p.Encryption == nil || p.Encryption.Type == nil {
		return nil, fail(ErrInvalidParameter, "%s.encryption.type is required: default or kms.", where)
	}
	out := &keypair.Protection{PrivateKey: p.PrivateKey, Encryption: keypair.Encryption{Type: *p.Encryption.Type}}
	if p.Encryption.KMSKeyName != nil {
		out.Encryption.KMSKeyName = *p.Encryption.KMSKeyName
	}
	if p.Encryption.KMSKeyID != nil {
		out.Encryption.KMSKeyID = *p.Encryption.KMSKeyID
	}
	return out, nil
}

// createInput validates a create body.
func createInput(b *createBody) (keypair.CreateInput, error) {
	var in keypair.CreateInput
	if b.Keypair == nil {
		return in, fail(ErrInvalidParameter, "The body must be {\"keypair\": {...}}.")
	}
	k := b.Keypair
	if k.Name == nil {
		return in, fail(ErrInvalidParameter, "keypair.name is required.")
	}
	if !kpsName.MatchString(*k.Name) {
		return in, fail(ErrInvalidParameter, "keypair.name must be 1 to 64 letters, digits, '_' or '-'.")
	}
	in.Name, in.PublicKey = *k.Name, k.PublicKey
	if k.Type != nil {
		if *k.Type != "ssh" && *k.Type != "x509" {
			return in, fail(ErrInvalidParameter, "keypair.type must be ssh or x509.")
		}
		in.Type = keypair.Type(*k.Type)
	}
	if k.Scope != nil {
		if *k.Scope != "user" && *k.Scope != "domain" {
			return in, fail(ErrInvalidParameter, "keypair.scope must be user or domain.")
		}
		in.Scope = keypair.Scope(*k.Scope)
	}
	if k.UserID != nil {
		in.UserID = *k.UserID
	}
	var err error
	in.Protection, err = protection(k.KeyProtection, "keypair.key_protection")
	return in, err
}

type createView struct {
	Name        string  `json:"name"`
	Type        string  `json:"type"`
	PublicKey   string  `json:"public_key"`
	PrivateKey  *string `json:"private_key,omitempty"`
	Fingerprint string  `json:"fingerprint"`
	UserID      string  `json:"user_id"`
}

func viewCreated(c *keypair.Created) map[string]createView {
	kp := c.KeyPair
	v := createView{Name: kp.Name, Type: string(kp.Type), PublicKey: kp.PublicKey, Fingerprint: kp.Fingerprint, UserID: kp.UserID}
	if c.PrivateKey != "" {
		v.PrivateKey = &c.PrivateKey
	}
	return map[string]createView{"keypair": v}
}

func (h *Handler) create(q request, _ string) error {
	var b createBody
	if err := decode(q.r, &b); err != nil {
		return err
	}
	in, err := createInput(&b)
	if err != nil {
		return err
	}
	c, err := h.svc.Create(q.r.Context(), q.actor, in)
	if err != nil {
		return err
	}
	writeJSON(q.w, http.StatusOK, viewCreated(c))
	return nil
}

type listItem struct {
	Name            string `json:"name"`
	Type            string `json:"type"`
	Scope           string `json:"scope"`
	PublicKey       string `json:"public_key"`
	Fingerprint     string `json:"fingerprint"`
	IsKeyProtection bool   `json:"is_key_protection"`
	FrozenState     string `json:"frozen_state"`
}

// listEntry wraps each item of a page as KPS does, {"keypair": {...}}.
type listEntry struct {
	Keypair listItem `json:"keypair"`
}

// DefaultLimit and MaxLimit bound list pages.
const (
	DefaultLimit = 50
	MaxLimit     = 1000
)

func (h *Handler) list(q request, _ string) error {
	qs := q.r.URL.Query()
	limit := DefaultLimit
	if s := qs.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxLimit {
			return fail(ErrInvalidParameter, "limit must be a whole number from 1 to %d.", MaxLimit)
		}
		limit = n
	}
	for k := range qs {
		if k != "limit" && k != "marker" {
			return fail(ErrInvalidParameter, "The query parameter %s is not supported.", k)
		}
	}
	// One more than asked shows whether another page follows.
	kps, err := h.svc.List(q.r.Context(), q.actor, "", keypair.Page{Marker: qs.Get("marker"), Limit: limit + 1})
	if err != nil {
		return err
	}
	page := map[string]any{}
	if len(kps) > limit {
		kps = kps[:limit]
		page["next_marker"] = kps[limit-1].Name
	}
	page["current_count"] = len(kps)
	items := make([]listEntry, 0, len(kps))
	for _, kp := range kps {
		items = append(items, listEntry{Keypair: listItem{Name: kp.Name, Type: string(kp.Type), Scope: string(kp.Scope),
			PublicKey: kp.PublicKey, Fingerprint: kp.Fingerprint, IsKeyProtection: kp.Protected, FrozenState: "0"}})
	}
	writeJSON(q.w, http.StatusOK, map[string]any{"keypairs": items, "page_info": page})
	return nil
}

type detailView struct {
	Name            string `json:"name"`
	ID              int64  `json:"id"`
	Type            string `json:"type"`
	Scope           string `json:"scope"`
	PublicKey       string `json:"public_key"`
	Fingerprint     string `json:"fingerprint"`
	IsKeyProtection bool   `json:"is_key_protection"`
	Deleted         bool   `json:"deleted"`
	Description     string `json:"description"`
	UserID          string `json:"user_id"`
	CreateTime      int64  `json:"create_time"`
	UpdateTime      int64  `json:"update_time"`
	DeleteTime      int64  `json:"delete_time"`
	FrozenState     int    `json:"frozen_state"`
	KeyID           string `json:"key_id"`
	Algorithm       string `json:"algorithm"`
}

func (h *Handler) show(q request, name string) error {
	kp, err := h.svc.Get(q.r.Context(), q.actor, "", name)
	if err != nil {
		return err
	}
	d := detailView{Name: kp.Name, ID: kp.ID, Type: string(kp.Type), Scope: string(kp.Scope), PublicKey: kp.PublicKey,
		Fingerprint: kp.Fingerprint, IsKeyProtection: kp.Escrow != nil, Description: kp.Description, UserID: kp.UserID,
		CreateTime: kp.CreatedAt.UnixMilli(), UpdateTime: kp.UpdatedAt.UnixMilli(), Algorithm: kp.Algorithm}
	if kp.Escrow != nil {
		d.KeyID = kp.Escrow.KeyRef
	}
	writeJSON(q.w, http.StatusOK, map[string]detailView{"keypair": d})
	return nil
}

func (h *Handler) updateDescription(q request, name string) error {
	var b struct {
		Keypair *struct {
			Description *string `json:"description"`
		} `json:"keypair"`
	}
	if err := decode(q.r, &b); err != nil {
		return err
	}
	if b.Keypair == nil || b.Keypair.Description == nil {
		return fail(ErrInvalidParameter, "keypair.description is required.")
	}
	if len([]rune(*b.Keypair.Description)) > MaxDescription {
		return fail(ErrInvalidParameter, "keypair.description must be at most %d characters.", MaxDescription)
	}
	if _, err := h.svc.UpdateDescription(q.r.Context(), q.actor, name, *b.Keypair.Description); err != nil {
		return err
	}
	// Huawei answers 200 with an empty body; its Terraform provider
	// refuses a 204 here.
	q.w.WriteHeader(http.StatusOK)
	return nil
}

func (h *Handler) delete(q request, name string) error {
	if err := h.svc.Delete(q.r.Context(), q.actor, "", name); err != nil {
		return err
	}
	q.w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) importPrivate(q request, _ string) error {
	var b struct {
		Keypair *struct {
			Name          *string         `json:"name"`
			UserID        *string         `json:"user_id"`
			KeyProtection *protectionBody `json:"key_protection"`
		} `json:"keypair"`
	}
	if err := decode(q.r, &b); err != nil {
		return err
	}
	if b.Keypair == nil || b.Keypair.Name == nil || b.Keypair.KeyProtection == nil || b.Keypair.KeyProtection.PrivateKey == nil {
		return fail(ErrInvalidParameter, "keypair.name and keypair.key_protection.private_key are required.")
	}
	p, err := protection(b.Keypair.KeyProtection, "keypair.key_protection")
	if err != nil {
		return err
	}
	user := ""
	if b.Keypair.UserID != nil {
		user = *b.Keypair.UserID
	}
	kp, err := h.svc.ImportPrivateKey(q.r.Context(), q.actor, user, *b.Keypair.Name, *p)
	if err != nil {
		return err
	}
	enc := map[string]string{"type": p.Encryption.Type}
	if p.Encryption.KMSKeyName != "" {
		enc["kms_key_name"] = p.Encryption.KMSKeyName
	}
	if p.Encryption.KMSKeyID != "" {
		enc["kms_key_id"] = p.Encryption.KMSKeyID
	}
	writeJSON(q.w, http.StatusOK, map[string]any{"keypair": map[string]any{"name": kp.Name, "user_id": kp.UserID,
		"key_protection": map[string]any{"encryption": enc}}})
	return nil
}

// nameBody is {"keypair": {"name": …}}, the export body.
type nameBody struct {
	Keypair *struct {
		Name *string `json:"name"`
	} `json:"keypair"`
}

func (h *Handler) exportPrivate(q request, _ string) error {
	var b nameBody
	if err := decode(q.r, &b); err != nil {
		return err
	}
	if b.Keypair == nil || b.Keypair.Name == nil {
		return fail(ErrInvalidParameter, "keypair.name is required.")
	}
	private, err := h.svc.ExportPrivateKey(q.r.Context(), q.actor, "", *b.Keypair.Name)
	if err != nil {
		return err
	}
	q.w.Header().Set("Cache-Control", "no-store")
	writeJSON(q.w, http.StatusOK, map[string]any{"keypair": map[string]string{"name": *b.Keypair.Name, "private_key": private}})
	return nil
}

func (h *Handler) clearPrivate(q request, name string) error {
	if err := h.svc.ClearPrivateKey(q.r.Context(), q.actor, name); err != nil {
		return err
	}
	// Huawei answers 200 with an empty body.
	q.w.WriteHeader(http.StatusOK)
	return nil
}
