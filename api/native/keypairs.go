package native

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/keyhaven/keyhaven/keypair"
)

// nameChars are the characters of a name this API creates: Nova's from
// microversion 2.92, so that Nova's clients can show and delete every key
// pair made here (and ":rotate" can never be part of a name).
const nameChars = "@._- 0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

// validateName checks the name of a new key pair; the domain adds its
// own rules (length, no outer space, not "." or "..").
func validateName(name string) error {
	if name == "" {
		return invalid("The field name is required.")
	}
	for _, r := range name {
		if !strings.ContainsRune(nameChars, r) {
			return invalid("A key pair name is letters, digits, spaces and @ . _ -; not %q.", r)
		}
	}
	return keypair.ValidateName(name)
}

// MaxDescription is the longest description accepted, KPS's.
const MaxDescription = 255

// MaxTTL is the longest ttl accepted on create: ten years.
const MaxTTL = 10 * 365 * 24 * 3600

// escrowBody asks for a private key to be kept in escrow.
type escrowBody struct {
	// KMSKey names the KMS key; empty for the service's default.
	KMSKey string `json:"kms_key"`
}

// encryption turns an escrow request into the domain's Encryption.
func (e *escrowBody) encryption() keypair.Encryption {
	if e.KMSKey == "" {
		return keypair.Encryption{Type: "default"}
	}
	return keypair.Encryption{Type: "kms", KMSKeyName: e.KMSKey}
}

// createBody is POST /keypairs.
type createBody struct {
	Name             string            `json:"name"`
	Type             string            `json:"type"`
	PrivateKeyFormat string            `json:"private_key_format"`
	PublicKey        *string           `json:"public_key"`
	PrivateKey       *string           `json:"private_key"`
	Escrow           *escrowBody       `json:"escrow"`
	Scope            string            `json:"scope"`
	Description      string            `json:"description"`
	Tags             map[string]string `json:"tags"`
	ExpiresAt        *string           `json:"expires_at"`
	TTL              *int64            `json:"ttl"`
}

// tagList turns a tags object into the domain's tags.
func tagList(m map[string]string) []keypair.Tag {
	tags := make([]keypair.Tag, 0, len(m))
	for k, v := range m {
		tags = append(tags, keypair.Tag{Key: k, Value: v})
	}
	return tags
}

// parseTime reads an RFC 3339 time of field.
func parseTime(field, s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return t, invalid("The field %s must be an RFC 3339 date-time such as 2030-01-02T15:04:05Z, not %q.", field, s)
	}
	return t, nil
}

func (h *Handler) create(q request, _ string) error {
	var b createBody
	if err := decode(q.r, &b); err != nil {
		return err
	}
	if err := validateName(b.Name); err != nil {
		return err
	}
	if utf8.RuneCountInString(b.Description) > MaxDescription {
		return invalid("The description must be at most %d characters.", MaxDescription)
	}
	in := keypair.CreateInput{Name: b.Name, Scope: keypair.Scope(b.Scope), PublicKey: b.PublicKey,
		Description: b.Description, Tags: tagList(b.Tags)}
	if b.PublicKey != nil {
		if b.Type != "" || b.PrivateKeyFormat != "" {
			return invalid("type and private_key_format choose what is generated; leave them out when importing public_key.")
		}
	} else {
		in.Spec = &keypair.KeySpec{Type: b.Type, Format: b.PrivateKeyFormat}
		if b.PrivateKey != nil {
			return invalid("A private_key can only be given with the public_key it belongs to.")
		}
	}
	if b.Escrow != nil {
		in.Protection = &keypair.Protection{PrivateKey: b.PrivateKey, Encryption: b.Escrow.encryption()}
	} else if b.PrivateKey != nil {
		return invalid("A private_key is only kept in escrow: give escrow too.")
	}
	switch {
	case b.ExpiresAt != nil && b.TTL != nil:
		return invalid("Give expires_at or ttl, not both.")
	case b.ExpiresAt != nil:
		at, err := parseTime("expires_at", *b.ExpiresAt)
		if err != nil {
			return err
		}
		in.ExpiresAt = &at
	case b.TTL != nil:
		if *b.TTL < 1 || *b.TTL > MaxTTL {
			return invalid("ttl is a number of seconds from 1 to %d.", MaxTTL)
		}
		at := h.now().Add(time.Duration(*b.TTL) * time.Second)
		in.ExpiresAt = &at
	}
	out, err := h.svc.Create(q.r.Context(), q.actor, in)
	if err != nil {
		return err
	}
	v := view(out.KeyPair, h.now())
	if out.KeyPair.Escrow == nil {
		v.PrivateKey = out.PrivateKey
	}
	q.w.Header().Set("Location", Prefix+"/keypairs/"+url.PathEscape(out.KeyPair.Name))
	writeJSON(q.w, http.StatusCreated, v)
	return nil
}

// listView is a page of key pairs.
type listView struct {
	KeyPairs   []keyPairView `json:"keypairs"`
	NextCursor *string       `json:"next_cursor"`
}

// DefaultLimit is the page size when a list names none.
const DefaultLimit = 100

func (h *Handler) list(q request, _ string) error {
	qs, err := query(q.r, "limit", "cursor", "tag", "tag-key", "type", "fingerprint", "name-prefix", "user_id", "all_users")
	if err != nil {
		return err
	}
	limit, err := intParam(qs, "limit", DefaultLimit, keypair.MaxListLimit)
	if err != nil {
		return err
	}
	var after keypair.Position
	if qs.Has("cursor") {
		if after, err = decodeCursor(qs.Get("cursor")); err != nil {
			return err
		}
	}
	scope := keypair.ListScope{UserID: qs.Get("user_id")}
	switch qs.Get("all_users") {
	case "", "false":
	case "true":
		if scope.UserID != "" {
			return invalid("Give user_id or all_users, not both.")
		}
		scope.Everyone = true
	default:
		return invalid("all_users is true or false.")
	}
	f, err := listFilter(qs)
	if err != nil {
		return err
	}
	kps, next, err := h.svc.ListDetailed(q.r.Context(), q.actor, scope, f, after, limit)
	if err != nil {
		return err
	}
	now := h.now()
	out := listView{KeyPairs: make([]keyPairView, 0, len(kps))}
	for _, kp := range kps {
		out.KeyPairs = append(out.KeyPairs, view(kp, now))
	}
	if next != (keypair.Position{}) {
		c := encodeCursor(next)
		out.NextCursor = &c
	}
	writeJSON(q.w, http.StatusOK, out)
	return nil
}

func (h *Handler) show(q request, name string) error {
	if _, err := query(q.r, "user_id"); err != nil {
		return err
	}
	kp, err := h.svc.GetDetailed(q.r.Context(), q.actor, q.r.URL.Query().Get("user_id"), name)
	if err != nil {
		return err
	}
	writeJSON(q.w, http.StatusOK, view(kp, h.now()))
	return nil
}

// updateBody is PATCH /keypairs/{name}, JSON merge patch style: a field
// left out stays, expires_at null removes the expiry.
type updateBody struct {
	Description *string            `json:"description"`
	Tags        *map[string]string `json:"tags"`
	ExpiresAt   json.RawMessage    `json:"expires_at"`
}

func (h *Handler) update(q request, name string) error {
	var b updateBody
	if err := decode(q.r, &b); err != nil {
		return err
	}
	var u keypair.DetailsUpdate
	if b.Description != nil {
		if utf8.RuneCountInString(*b.Description) > MaxDescription {
			return invalid("The description must be at most %d characters.", MaxDescription)
		}
		u.Description = b.Description
	}
	if b.Tags != nil {
		if *b.Tags == nil {
			return invalid("The field tags must be an object of strings; {} removes every tag.")
		}
		tags := tagList(*b.Tags)
		u.Tags = &tags
	}
	if b.ExpiresAt != nil {
		var at *time.Time
		if string(b.ExpiresAt) != "null" {
			var s string
			if err := json.Unmarshal(b.ExpiresAt, &s); err != nil {
				return invalid("The field expires_at must be a string or null.")
			}
			t, err := parseTime("expires_at", s)
			if err != nil {
				return err
			}
			at = &t
		}
		u.Expiry = &at
	}
	if u.Description == nil && u.Tags == nil && u.Expiry == nil {
		return invalid("Give at least one of description, tags, expires_at.")
	}
	kp, err := h.svc.UpdateDetails(q.r.Context(), q.actor, name, u)
	if err != nil {
		return err
	}
	writeJSON(q.w, http.StatusOK, view(kp, h.now()))
	return nil
}

func (h *Handler) delete(q request, name string) error {
	qs, err := query(q.r, "user_id")
	if err != nil {
		return err
	}
	if err := h.svc.Delete(q.r.Context(), q.actor, qs.Get("user_id"), name); err != nil {
		return err
	}
	q.w.WriteHeader(http.StatusNoContent)
	return nil
}
