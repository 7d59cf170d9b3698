package main

import (
	"archive/zip"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/kps/v3/model"

	kpsapi "github.com/keyhaven/keyhaven/api/kps"
)

// TestKPSBatchExportSDKObjects hands batch export what the real Huawei SDK
// lists: its whole Keypair model, every field set, not only the name. The
// export must take them and answer a ZIP of the private keys.
func TestKPSBatchExportSDKObjects(t *testing.T) {
	srv := startIdentityServer(t)
	adminTok, _, _ := adminToken(t, srv)
	alice := newCloudUser(t, srv, adminTok, "alice", "team", "member")
	c := kpsClient(t, srv, alice)
	private := map[string]string{}
	for _, name := range []string{"one", "two"} {
		gen, err := c.CreateKeypair(&model.CreateKeypairRequest{Body: &model.CreateKeypairRequestBody{
			Keypair: &model.CreateKeypairAction{Name: name, KeyProtection: protectDefault()}}})
		if err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
		private[name] = *gen.Keypair.PrivateKey
	}
	l, err := c.ListKeypairs(&model.ListKeypairsRequest{})
	if err != nil || len(*l.Keypairs) != 2 {
		t.Fatalf("list: %+v %v", l, err)
	}
	for _, k := range *l.Keypairs {
		kp := k.Keypair
		if kp.Name == nil || kp.Type == nil || kp.Scope == nil || kp.PublicKey == nil || kp.Fingerprint == nil || kp.IsKeyProtection == nil || kp.FrozenState == nil {
			t.Fatalf("the SDK's list item is not full, so the test would not test it: %+v", kp)
		}
	}
	ex, err := c.BatchExportPrivateKey(&model.BatchExportPrivateKeyRequest{Body: l.Keypairs})
	if err != nil || ex.Body == nil {
		t.Fatalf("batch export of the SDK's full objects: %v", err)
	}
	zr, err := zip.NewReader(strings.NewReader(*ex.Body), int64(len(*ex.Body)))
	if err != nil || len(zr.File) != 2 {
		t.Fatalf("batch export answer is not a ZIP of two keys: %v", err)
	}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(rc)
		rc.Close()
		if name := strings.TrimSuffix(f.Name, ".pem"); string(got) != private[name] {
			t.Fatalf("%s holds another key than %s's", f.Name, name)
		}
	}

	// Past Huawei's limit, through the SDK too.
	eleven := make([]model.Keypairs, kpsapi.MaxBatch+1)
	imports := make([]model.CreateKeypairRequestBody, kpsapi.MaxBatch+1)
	for i := range eleven {
		eleven[i] = (*l.Keypairs)[i%2]
		imports[i] = model.CreateKeypairRequestBody{Keypair: &model.CreateKeypairAction{Name: fmt.Sprintf("many-%d", i), PublicKey: (*l.Keypairs)[0].Keypair.PublicKey}}
	}
	_, err = c.BatchExportPrivateKey(&model.BatchExportPrivateKeyRequest{Body: &eleven})
	wantKPSError(t, err, kpsapi.ErrInvalidParameter.Status, kpsapi.ErrInvalidParameter.Code)
	_, err = c.BatchImportKeypair(&model.BatchImportKeypairRequest{Body: &imports})
	wantKPSError(t, err, kpsapi.ErrInvalidParameter.Status, kpsapi.ErrInvalidParameter.Code)

	// The shape the issue reported: nulls where the SDK had no value.
	h := map[string]string{"X-Auth-Token": alice.Token, "Content-Type": "application/json"}
	body := `[{"keypair": {"fingerprint": null, "frozen_state": null, "is_key_protection": false, "name": "one", "public_key": null, "scope": null, "type": null}}]`
	if resp, raw := srv.do(t, "POST", "/v3/"+alice.Project+"/keypairs/private-key/batch-export", h, body); resp.StatusCode != 200 ||
		resp.Header.Get("Content-Type") != "application/zip" {
		t.Fatalf("batch export with nulls: %d %s", resp.StatusCode, raw)
	}
}

// TestKPSBatchBadInput: batches past Huawei's 10 and malformed batch
// bodies get a 4xx in KPS's format, never a 500, and write nothing.
func TestKPSBatchBadInput(t *testing.T) {
	srv := startIdentityServer(t)
	tok, _, project := adminToken(t, srv)
	h := map[string]string{"X-Auth-Token": tok, "Content-Type": "application/json"}
	base := "/v3/" + project + "/keypairs"
	pub, _ := sshKeygen(t, "-t", "ed25519")
	pubJSON, _ := json.Marshal(strings.TrimSpace(pub))
	if resp, raw := srv.do(t, "POST", base, h, `{"keypair": {"name": "kept", "key_protection": {"encryption": {"type": "default"}}}}`); resp.StatusCode != 200 {
		t.Fatalf("setup: %d %s", resp.StatusCode, raw)
	}
	list := func(n int, item func(i int) string) string {
		items := make([]string, n)
		for i := range items {
			items[i] = item(i)
		}
		return "[" + strings.Join(items, ",") + "]"
	}
	importItem := func(i int) string {
		return fmt.Sprintf(`{"keypair": {"name": "batch-%d", "public_key": %s}}`, i, pubJSON)
	}
	exportItem := func(int) string { return `{"keypair": {"name": "kept"}}` }
	invalid := kpsapi.ErrInvalidParameter
	tests := []struct {
		name, path, body string
		want             kpsapi.ErrorCode
	}{
		{"import: 11 items", "/batch-import", list(kpsapi.MaxBatch+1, importItem), invalid},
		{"import: empty list", "/batch-import", `[]`, invalid},
		{"import: not a list", "/batch-import", `{"keypair": {"name": "x"}}`, invalid},
		{"import: item not an object", "/batch-import", `["x"]`, invalid},
		{"import: unknown field", "/batch-import", `[{"keypair": {"name": "x", "public_key": ` + string(pubJSON) + `, "colour": "red"}}]`, invalid},
		{"import: name not a string", "/batch-import", `[{"keypair": {"name": 1, "public_key": ` + string(pubJSON) + `}}]`, invalid},
		{"import: null", "/batch-import", `null`, invalid},
		{"export: 11 items", "/private-key/batch-export", list(kpsapi.MaxBatch+1, exportItem), invalid},
		{"export: empty list", "/private-key/batch-export", `[]`, invalid},
		{"export: not a list", "/private-key/batch-export", `{"keypair": {"name": "kept"}}`, invalid},
		{"export: unknown field", "/private-key/batch-export", `[{"keypair": {"name": "kept", "colour": "red"}}]`, invalid},
		{"export: unknown field beside keypair", "/private-key/batch-export", `[{"keypair": {"name": "kept"}, "extra": 1}]`, invalid},
		{"export: name not a string", "/private-key/batch-export", `[{"keypair": {"name": ["kept"]}}]`, invalid},
		{"export: keypair not an object", "/private-key/batch-export", `[{"keypair": "kept"}]`, invalid},
		{"export: no name", "/private-key/batch-export", `[{"keypair": {"fingerprint": null}}]`, invalid},
		{"export: missing key pair", "/private-key/batch-export", `[{"keypair": {"name": "nope"}}]`, kpsapi.ErrKeypairNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, raw := srv.do(t, "POST", base+tt.path, h, tt.body)
			var body struct {
				Code string `json:"error_code"`
				Msg  string `json:"error_msg"`
			}
			if err := json.Unmarshal(raw, &body); err != nil || resp.StatusCode != tt.want.Status || body.Code != tt.want.Code || body.Msg == "" {
				t.Fatalf("%d %s; want %d %s", resp.StatusCode, raw, tt.want.Status, tt.want.Code)
			}
		})
	}
	// Ten is allowed.
	resp, raw := srv.do(t, "POST", base+"/batch-import", h, list(kpsapi.MaxBatch, importItem))
	if resp.StatusCode != 200 || strings.Count(string(raw), `"fingerprint"`) != kpsapi.MaxBatch {
		t.Fatalf("batch import of %d: %d %s", kpsapi.MaxBatch, resp.StatusCode, raw)
	}
	if resp, raw := srv.do(t, "POST", base+"/private-key/batch-export", h, list(kpsapi.MaxBatch, exportItem)); resp.StatusCode != 200 {
		t.Fatalf("batch export of %d: %d %s", kpsapi.MaxBatch, resp.StatusCode, raw)
	}
	resp, raw = srv.do(t, "GET", base, h, "")
	if resp.StatusCode != 200 || strings.Count(string(raw), `"name"`) != 1+kpsapi.MaxBatch {
		t.Fatalf("the refused batches wrote something: %s", raw)
	}
}
