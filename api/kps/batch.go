package kps

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/keyhaven/keyhaven/keypair"
)

// MaxBatch is the most key pairs one batch import or batch export may
// name, as Huawei's KPS allows.
const MaxBatch = 10

// checkBatch enforces the size of a batch body.
func checkBatch(n int, shape string) error {
	if n == 0 || n > MaxBatch {
		return fail(ErrInvalidParameter, "The body must list 1 to %d key pairs as %s; it lists %d.", MaxBatch, shape, n)
	}
	return nil
}

type failedView struct {
	KeypairName  string `json:"keypair_name"`
	FailedReason string `json:"failed_reason"`
}

func (h *Handler) batchImport(q request, _ string) error {
	var bodies []createBody
	if err := decode(q.r, &bodies); err != nil {
		return err
	}
	if err := checkBatch(len(bodies), `{"keypair": {...}}`); err != nil {
		return err
	}
	ok := []map[string]createView{}
	failed := []failedView{}
	for _, b := range bodies {
		name := ""
		if b.Keypair != nil && b.Keypair.Name != nil {
			name = *b.Keypair.Name
		}
		in, err := createInput(&b)
		if err == nil && in.PublicKey == nil {
			err = fail(ErrInvalidParameter, "keypair.public_key is required in a batch import.")
		}
		var c *keypair.Created
		if err == nil {
			c, err = h.svc.Create(q.r.Context(), q.actor, in)
		}
		if err != nil {
			code, msg := codeOf(err)
			if code == ErrInternal {
				return err
			}
			failed = append(failed, failedView{KeypairName: name, FailedReason: msg})
			continue
		}
		ok = append(ok, viewCreated(c))
	}
	writeJSON(q.w, http.StatusOK, map[string]any{"succeeded_keypairs": ok, "failed_keypairs": failed})
	return nil
}

// exportItem is one entry of a batch export. Huawei's SDK sends its whole
// Keypair model (model.Keypairs) there, not only the name, so every field
// of that model is accepted and, but for the name, ignored, whatever its
// value; a field the model does not have is still refused.
type exportItem struct {
	Keypair *struct {
		Name            *string         `json:"name"`
		Type            json.RawMessage `json:"type"`
		Scope           json.RawMessage `json:"scope"`
		PublicKey       json.RawMessage `json:"public_key"`
		Fingerprint     json.RawMessage `json:"fingerprint"`
		IsKeyProtection json.RawMessage `json:"is_key_protection"`
		FrozenState     json.RawMessage `json:"frozen_state"`
	} `json:"keypair"`
}

// batchExport answers a ZIP file holding NAME.pem for each key pair, as
// Huawei's console downloads them; every key pair must export, or none is.
func (h *Handler) batchExport(q request, _ string) error {
	var items []exportItem
	if err := decode(q.r, &items); err != nil {
		return err
	}
	if err := checkBatch(len(items), `{"keypair": {"name": …}}`); err != nil {
		return err
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	seen := map[string]bool{}
	for _, it := range items {
		if it.Keypair == nil || it.Keypair.Name == nil {
			return fail(ErrInvalidParameter, "Every entry needs keypair.name.")
		}
		name := *it.Keypair.Name
		if seen[name] {
			continue
		}
		seen[name] = true
		private, err := h.svc.ExportPrivateKey(q.r.Context(), q.actor, "", name)
		if err != nil {
			return err
		}
		f, err := zw.Create(name + ".pem")
		if err != nil {
			return err
		}
		if _, err := f.Write([]byte(private)); err != nil {
			return err
		}
	}
	if err := zw.Close(); err != nil {
		return err
	}
	q.w.Header().Set("Content-Type", "application/zip")
	q.w.Header().Set("Content-Disposition", `attachment; filename="keypairs.zip"`)
	q.w.Header().Set("Cache-Control", "no-store")
	q.w.WriteHeader(http.StatusOK)
	_, _ = q.w.Write(buf.Bytes())
	return nil
}
