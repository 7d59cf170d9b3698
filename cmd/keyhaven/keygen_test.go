package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/keypairs"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/sdkerr"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/kps/v3/model"

	kpsapi "github.com/keyhaven/keyhaven/api/kps"
	"github.com/keyhaven/keyhaven/keypair"
)

func TestKeygenConfig(t *testing.T) {
	for _, c := range []struct {
		args []string
		env  map[string]string
		n    int
		wait time.Duration
		err  string
	}{
		{nil, nil, max(runtime.GOMAXPROCS(0)-1, 1), keypair.DefaultGenerateWait, ""},
		{[]string{"--keygen-concurrency", "3", "--keygen-wait", "250ms"}, nil, 3, 250 * time.Millisecond, ""},
		{nil, map[string]string{"KEYHAVEN_KEYGEN_CONCURRENCY": "2", "KEYHAVEN_KEYGEN_WAIT": "0s"}, 2, 0, ""},
		{[]string{"--keygen-concurrency", "0"}, nil, 0, 0, "keygen_concurrency: 0; want 1 or more"},
		{[]string{"--keygen-wait", "-1s"}, nil, 0, 0, "keygen_wait: -1s"},
		{[]string{"--keygen-wait", "2m"}, nil, 0, 0, "keygen_wait: 2m0s"},
	} {
		cfg, err := loadConfig("t", c.args, func(k string) string { return c.env[k] })
		switch {
		case c.err == "" && (err != nil || cfg.KeygenConcurrency != c.n || cfg.KeygenWait != c.wait):
			t.Errorf("%v %v: %d %s %v; want %d %s", c.args, c.env, cfg.KeygenConcurrency, cfg.KeygenWait, err, c.n, c.wait)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%v: %v; want %q", c.args, err, c.err)
		}
	}
}

// TestKeygenBound floods a real keyhaven that generates one key at a time
// and never queues (--keygen-concurrency 1 --keygen-wait 0) with
// simultaneous generations through gophercloud (Nova), the Huawei SDK (KPS)
// and signed KPS requests (to read headers the SDK hides): those beyond the
// bound get 503 with Retry-After in each dialect's format, the others
// their key pair, and a show answers throughout.
func TestKeygenBound(t *testing.T) {
	srv := startServer(t, testTokens, "--bootstrap-password", bootstrapPassword,
		"--keygen-concurrency", "1", "--keygen-wait", "0s", "--quota-key-pairs", "-1")
	ctx := context.Background()
	nova := computeClient(t, srv, "alice-token", "2.2")
	adminTok, _, _ := adminToken(t, srv)
	carol := newCloudUser(t, srv, adminTok, "carol", "team", "member")
	sdk := kpsClient(t, srv, carol)
	pub, _ := sshKeygen(t, "-t", "ed25519")
	if _, err := keypairs.Create(ctx, nova, keypairs.CreateOpts{Name: "kept", PublicKey: pub}).Extract(); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	busy := map[string]int{}
	note := func(kind string) { mu.Lock(); busy[kind]++; mu.Unlock() }
	kinds := []string{"nova", "kps-sdk", "kps-signed"}
	// Eight requests at once against one slot: nearly every round refuses
	// some; rounds go on until each client kind has seen a refusal.
	for round := 0; round < 50 && len(busy) < len(kinds); round++ {
		var wg sync.WaitGroup
		for i := range 8 {
			kind := kinds[i%len(kinds)]
			name := fmt.Sprintf("g%02d-%d", round, i)
			wg.Add(1)
			go func() {
				defer wg.Done()
				switch kind {
				case "nova":
					kp, err := keypairs.Create(ctx, nova, keypairs.CreateOpts{Name: name}).Extract()
					var ue gophercloud.ErrUnexpectedResponseCode
					switch {
					case err == nil && strings.HasPrefix(kp.PrivateKey, "-----BEGIN RSA PRIVATE KEY-----"):
					case errors.As(err, &ue) && ue.Actual == 503:
						var body map[string]struct {
							Code    int    `json:"code"`
							Message string `json:"message"`
						}
						if e := json.Unmarshal(ue.Body, &body); e != nil || body["serviceUnavailable"].Code != 503 ||
							!strings.Contains(body["serviceUnavailable"].Message, "Retry later") || ue.ResponseHeader.Get("Retry-After") != "1" {
							t.Errorf("nova 503: %s %v", ue.Body, ue.ResponseHeader)
						}
						note(kind)
					default:
						t.Errorf("nova generate %s: %+v %v", name, kp, err)
					}
				case "kps-sdk":
					out, err := sdk.CreateKeypair(&model.CreateKeypairRequest{Body: &model.CreateKeypairRequestBody{
						Keypair: &model.CreateKeypairAction{Name: name}}})
					var se *sdkerr.ServiceResponseError
					switch {
					case err == nil && out.Keypair != nil && out.Keypair.PrivateKey != nil:
					case errorsAs(err, &se) && se.StatusCode == 503:
						if se.ErrorCode != kpsapi.ErrBusy.Code || !strings.Contains(se.ErrorMessage, "Retry later") {
							t.Errorf("kps 503: %+v", se)
						}
						note(kind)
					default:
						t.Errorf("kps generate %s: %+v %v", name, out, err)
					}
				case "kps-signed":
					r := srv.signedRequest(t, carol.AK, carol.SK, "POST", "/v3/"+carol.Project+"/keypairs", `{"keypair": {"name": "`+name+`"}}`, nil)
					res, err := httpDo(r)
					if err != nil {
						t.Error(err)
						return
					}
					switch {
					case res.status == 200:
					case res.status == 503:
						var body struct {
							Code string `json:"error_code"`
							Msg  string `json:"error_msg"`
						}
						if e := json.Unmarshal(res.body, &body); e != nil || body.Code != kpsapi.ErrBusy.Code || body.Msg == "" ||
							res.header.Get("Retry-After") != "1" || !strings.HasPrefix(res.header.Get("Content-Type"), "application/json") {
							t.Errorf("signed kps 503: %s %v", res.body, res.header)
						}
						note(kind)
					default:
						t.Errorf("signed kps generate %s: %d %s", name, res.status, res.body)
					}
				}
			}()
		}
		// A show is not generation: it is answered while the flood runs.
		if kp, err := keypairs.Get(ctx, nova, "kept", nil).Extract(); err != nil || kp.Name != "kept" {
			t.Errorf("show during the flood: %+v %v", kp, err)
		}
		wg.Wait()
	}
	for _, k := range kinds {
		if busy[k] == 0 {
			t.Errorf("no %s generation was refused over the bound of one: %v", k, busy)
		}
	}
}

// response is an answer read whole, for goroutines that cannot t.Fatal.
type response struct {
	status int
	header http.Header
	body   []byte
}

// httpDo sends r and reads its answer.
func httpDo(r *http.Request) (response, error) {
	res, err := http.DefaultClient.Do(r)
	if err != nil {
		return response{}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return response{res.StatusCode, res.Header, b}, err
}
