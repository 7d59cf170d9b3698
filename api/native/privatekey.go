package native

import (
	"net/http"

	"github.com/keyhaven/keyhaven/keypair"
)

// privateKeyView is an exported private key.
type privateKeyView struct {
	Name       string `json:"name"`
	PrivateKey string `json:"private_key"`
}

func (h *Handler) exportPrivate(q request, name string) error {
	qs, err := query(q.r, "user_id")
	if err != nil {
		return err
	}
	// The service writes the audit entry of the reveal before it returns.
	private, err := h.svc.ExportPrivateKey(q.r.Context(), q.actor, qs.Get("user_id"), name)
	if err != nil {
		return err
	}
	writeJSON(q.w, http.StatusOK, privateKeyView{Name: name, PrivateKey: private})
	return nil
}

func (h *Handler) clearPrivate(q request, name string) error {
	if _, err := query(q.r); err != nil {
		return err
	}
	if err := h.svc.ClearPrivateKey(q.r.Context(), q.actor, name); err != nil {
		return err
	}
	q.w.WriteHeader(http.StatusNoContent)
	return nil
}

// rotateBody is POST /keypairs/{name}:rotate; an empty object generates
// an ed25519 key.
type rotateBody struct {
	Type             string      `json:"type"`
	PrivateKeyFormat string      `json:"private_key_format"`
	PublicKey        *string     `json:"public_key"`
	PrivateKey       *string     `json:"private_key"`
	Escrow           *escrowBody `json:"escrow"`
}

func (h *Handler) rotate(q request, name string) error {
	if _, err := query(q.r); err != nil {
		return err
	}
	var b rotateBody
	if err := decode(q.r, &b); err != nil {
		return err
	}
	in := keypair.RotateInput{PublicKey: b.PublicKey, PrivateKey: b.PrivateKey}
	if b.PublicKey != nil {
		if b.Type != "" || b.PrivateKeyFormat != "" {
			return invalid("type and private_key_format choose what is generated; leave them out when importing public_key.")
		}
	} else {
		in.Spec = &keypair.KeySpec{Type: b.Type, Format: b.PrivateKeyFormat}
		if err := keypair.CheckSpec(*in.Spec); err != nil {
			return err
		}
	}
	if b.Escrow != nil {
		enc := b.Escrow.encryption()
		in.Encryption = &enc
	}
	out, err := h.svc.Rotate(q.r.Context(), q.actor, name, in)
	if err != nil {
		return err
	}
	v := view(out.KeyPair, h.now())
	v.PrivateKey = out.PrivateKey
	writeJSON(q.w, http.StatusOK, v)
	return nil
}
