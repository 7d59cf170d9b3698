package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/keypairs"
	"github.com/gophercloud/gophercloud/v2/openstack/utils"
)

// These tests drive a real keyhaven with the real gophercloud v2 client,
// the way Terraform and Go tools use Nova, at each keypair microversion.

const testProject = "6f1d2c8e9b7a4c3d8e2f1a0b9c8d7e6f"

const testTokens = `alice-token alice ` + testProject + ` member
bob-token   bob   ` + testProject + ` member
admin-token admin ` + testProject + ` admin
`

// computeClient is a gophercloud compute client for token at microversion.
func computeClient(t *testing.T, srv *testServer, token, microversion string) *gophercloud.ServiceClient {
	t.Helper()
	pc, err := openstack.NewClient(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	pc.SetToken(token)
	return &gophercloud.ServiceClient{ProviderClient: pc, Endpoint: srv.URL + "/v2.1/", Type: "compute", Microversion: microversion}
}

// sshKeygen makes a key with the real ssh-keygen and returns the public
// line and the MD5 fingerprint ssh-keygen prints for it.
func sshKeygen(t *testing.T, args ...string) (pub, md5 string) {
	t.Helper()
	if _, err := exec.LookPath("ssh-keygen"); err != nil {
		t.Fatal("ssh-keygen is required (Debian package openssh-client)")
	}
	path := filepath.Join(t.TempDir(), "key")
	out, err := exec.Command("ssh-keygen", append(args, "-q", "-N", "", "-C", "test@keyhaven", "-f", path)...).CombinedOutput()
	if err != nil {
		t.Fatalf("ssh-keygen %v: %v\n%s", args, err, out)
	}
	b, err := os.ReadFile(path + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	return string(b), fingerprintOf(t, path+".pub")
}

// fingerprintOf returns ssh-keygen's MD5 fingerprint of a public key file,
// without the "MD5:" prefix, as Nova shows it.
func fingerprintOf(t *testing.T, path string) string {
	t.Helper()
	out, err := exec.Command("ssh-keygen", "-l", "-E", "md5", "-f", path).CombinedOutput()
	if err != nil {
		t.Fatalf("ssh-keygen -l: %v\n%s", err, out)
	}
	f := strings.Fields(string(out))
	return strings.TrimPrefix(f[1], "MD5:")
}

func wantCode(t *testing.T, err error, code int) {
	t.Helper()
	if !gophercloud.ResponseCodeIs(err, code) {
		t.Fatalf("got %v, want HTTP %d", err, code)
	}
}

func TestGophercloudMicroversion21(t *testing.T) {
	srv := startServer(t, testTokens, "--quota-key-pairs", "10")
	ctx := context.Background()
	c := computeClient(t, srv, "alice-token", "2.1")

	// Generation: the private key is PKCS#1 PEM that OpenSSH reads, and
	// its public half is what the key pair stores.
	gen, err := keypairs.Create(ctx, c, keypairs.CreateOpts{Name: "gen"}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(gen.PrivateKey, "-----BEGIN RSA PRIVATE KEY-----\n") || !strings.HasSuffix(gen.PublicKey, " Generated-by-Nova") || gen.Type != "" {
		t.Fatalf("generated key pair not shaped as Nova's: %+v", gen)
	}
	privPath := filepath.Join(t.TempDir(), "id_rsa")
	if err := os.WriteFile(privPath, []byte(gen.PrivateKey), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("ssh-keygen", "-y", "-f", privPath).Output()
	if err != nil {
		t.Fatalf("ssh-keygen -y on the generated private key: %v", err)
	}
	if strings.Fields(string(out))[1] != strings.Fields(gen.PublicKey)[1] {
		t.Fatal("generated private key does not match its public key")
	}
	if err := os.WriteFile(privPath+".pub", []byte(gen.PublicKey), 0o600); err != nil {
		t.Fatal(err)
	}
	if fp := fingerprintOf(t, privPath+".pub"); fp != gen.Fingerprint {
		t.Fatalf("fingerprint %s, ssh-keygen says %s", gen.Fingerprint, fp)
	}

	// Import of every key type OpenSSH makes, fingerprinted as ssh-keygen does.
	for _, kt := range [][]string{{"-t", "rsa", "-b", "2048"}, {"-t", "ed25519"}, {"-t", "ecdsa", "-b", "256"}, {"-t", "ecdsa", "-b", "384"}, {"-t", "ecdsa", "-b", "521"}} {
		pub, fp := sshKeygen(t, kt...)
		name := "imp " + strings.Join(kt[1:], "-")
		kp, err := keypairs.Create(ctx, c, keypairs.CreateOpts{Name: name, PublicKey: pub}).Extract()
		if err != nil {
			t.Fatalf("import %v: %v", kt, err)
		}
		if kp.Fingerprint != fp || kp.PublicKey != pub || kp.PrivateKey != "" || kp.UserID != "alice" {
			t.Fatalf("import %v: got %+v, want fingerprint %s", kt, kp, fp)
		}
		got, err := keypairs.Get(ctx, c, name, nil).Extract()
		if err != nil || got.PublicKey != pub || got.Fingerprint != fp {
			t.Fatalf("get %q: %+v %v", name, got, err)
		}
	}

	all, err := keypairs.List(c, nil).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	list, err := keypairs.ExtractKeyPairs(all)
	if err != nil || len(list) != 6 || list[0].Name != "gen" {
		t.Fatalf("list: %v %v", list, err)
	}

	pub, _ := sshKeygen(t, "-t", "ed25519")
	// Error cases: each answered with the status Nova gives.
	_, err = keypairs.Create(ctx, c, keypairs.CreateOpts{Name: "gen", PublicKey: pub}).Extract()
	wantCode(t, err, 409)
	_, err = keypairs.Create(ctx, c, keypairs.CreateOpts{Name: "bad key", PublicKey: "ssh-rsa AAAAnotbase64!!"}).Extract()
	wantCode(t, err, 400)
	_, err = keypairs.Create(ctx, c, keypairs.CreateOpts{Name: "bad/name", PublicKey: pub}).Extract()
	wantCode(t, err, 400)
	_, err = keypairs.Create(ctx, c, keypairs.CreateOpts{Name: "a.b", PublicKey: pub}).Extract()
	wantCode(t, err, 400)
	_, err = keypairs.Create(ctx, c, keypairs.CreateOpts{Name: "typed", Type: "ssh", PublicKey: pub}).Extract()
	wantCode(t, err, 400)
	_, err = keypairs.Get(ctx, c, "nope", nil).Extract()
	wantCode(t, err, 404)
	wantCode(t, keypairs.Delete(ctx, c, "nope", nil).ExtractErr(), 404)
	_, err = keypairs.Get(ctx, computeClient(t, srv, "bad-token", "2.1"), "gen", nil).Extract()
	wantCode(t, err, 401)
	_, err = keypairs.Get(ctx, computeClient(t, srv, "alice-token", "2.999"), "gen", nil).Extract()
	wantCode(t, err, 406)
	// Another user does not see alice's key pairs.
	_, err = keypairs.Get(ctx, computeClient(t, srv, "bob-token", "2.1"), "gen", nil).Extract()
	wantCode(t, err, 404)

	// Quota: 10, of which 6 are used.
	for i := range 4 {
		if _, err := keypairs.Create(ctx, c, keypairs.CreateOpts{Name: fmt.Sprintf("q%d", i), PublicKey: pub}).Extract(); err != nil {
			t.Fatal(err)
		}
	}
	_, err = keypairs.Create(ctx, c, keypairs.CreateOpts{Name: "over", PublicKey: pub}).Extract()
	wantCode(t, err, 403)
	// Quota is checked before the key and the name, as in Nova.
	_, err = keypairs.Create(ctx, c, keypairs.CreateOpts{Name: "gen", PublicKey: "junk"}).Extract()
	wantCode(t, err, 403)

	// Delete answers 202 at 2.1 (gophercloud does not expose the status,
	// so one delete goes out raw), and frees the quota.
	if err := keypairs.Delete(ctx, c, "q0", nil).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if resp, _ := srv.do(t, "DELETE", "/v2.1/os-keypairs/gen", map[string]string{"X-Auth-Token": "alice-token"}, ""); resp.StatusCode != 202 {
		t.Fatalf("delete at 2.1: %d", resp.StatusCode)
	}
	if _, err := keypairs.Create(ctx, c, keypairs.CreateOpts{Name: "gen", PublicKey: pub}).Extract(); err != nil {
		t.Fatal(err)
	}
}

func TestGophercloudMicroversion22(t *testing.T) {
	srv := startServer(t, testTokens)
	ctx := context.Background()
	c := computeClient(t, srv, "alice-token", "2.2")
	pub, fp := sshKeygen(t, "-t", "ed25519")

	res := keypairs.Create(ctx, c, keypairs.CreateOpts{Name: "ssh", PublicKey: pub})
	kp, err := res.Extract()
	if err != nil || kp.Type != "ssh" || kp.Fingerprint != fp {
		t.Fatalf("import: %+v %v", kp, err)
	}
	x, err := keypairs.Create(ctx, c, keypairs.CreateOpts{Name: "x509", Type: "x509"}).Extract()
	if err != nil || x.Type != "x509" || !strings.HasPrefix(x.PublicKey, "-----BEGIN CERTIFICATE-----") || x.PrivateKey == "" {
		t.Fatalf("x509 generate: %+v %v", x, err)
	}
	// The generated certificate imports again as an x509 key pair with
	// the same fingerprint.
	x2, err := keypairs.Create(ctx, c, keypairs.CreateOpts{Name: "x509-import", Type: "x509", PublicKey: x.PublicKey}).Extract()
	if err != nil || x2.Fingerprint != x.Fingerprint || len(x2.Fingerprint) != 59 {
		t.Fatalf("x509 import: %+v %v", x2, err)
	}
	_, err = keypairs.Create(ctx, c, keypairs.CreateOpts{Name: "bad", Type: "x509", PublicKey: pub}).Extract()
	wantCode(t, err, 400)
	_, err = keypairs.Create(ctx, c, keypairs.CreateOpts{Name: "bad", Type: "pgp", PublicKey: pub}).Extract()
	wantCode(t, err, 400)

	got, err := keypairs.Get(ctx, c, "x509", nil).Extract()
	if err != nil || got.Type != "x509" || got.UserID != "alice" {
		t.Fatalf("get: %+v %v", got, err)
	}
	all, err := keypairs.List(c, nil).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	list, _ := keypairs.ExtractKeyPairs(all)
	if len(list) != 3 || list[0].Type != "ssh" || list[1].Type != "x509" {
		t.Fatalf("list: %+v", list)
	}
	if err := keypairs.Delete(ctx, c, "ssh", nil).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if resp, _ := srv.do(t, "DELETE", "/v2.1/os-keypairs/x509", map[string]string{"X-Auth-Token": "alice-token", "OpenStack-API-Version": "compute 2.2"}, ""); resp.StatusCode != 204 {
		t.Fatalf("delete at 2.2: %d", resp.StatusCode)
	}
}

func TestGophercloudMicroversion210(t *testing.T) {
	srv := startServer(t, testTokens)
	ctx := context.Background()
	admin := computeClient(t, srv, "admin-token", "2.10")
	alice := computeClient(t, srv, "alice-token", "2.10")
	bob := computeClient(t, srv, "bob-token", "2.10")
	pub, _ := sshKeygen(t, "-t", "ed25519")

	kp, err := keypairs.Create(ctx, admin, keypairs.CreateOpts{Name: "for-bob", UserID: "bob", PublicKey: pub}).Extract()
	if err != nil || kp.UserID != "bob" {
		t.Fatalf("admin create for bob: %+v %v", kp, err)
	}
	if _, err := keypairs.Get(ctx, bob, "for-bob", nil).Extract(); err != nil {
		t.Fatalf("bob reads his key pair: %v", err)
	}
	if _, err := keypairs.Get(ctx, admin, "for-bob", keypairs.GetOpts{UserID: "bob"}).Extract(); err != nil {
		t.Fatalf("admin reads bob's key pair: %v", err)
	}
	pages, err := keypairs.List(admin, keypairs.ListOpts{UserID: "bob"}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if l, _ := keypairs.ExtractKeyPairs(pages); len(l) != 1 {
		t.Fatalf("admin list of bob: %+v", l)
	}
	// A user may name themselves, but not someone else.
	if _, err := keypairs.Create(ctx, alice, keypairs.CreateOpts{Name: "self", UserID: "alice", PublicKey: pub}).Extract(); err != nil {
		t.Fatal(err)
	}
	_, err = keypairs.Create(ctx, alice, keypairs.CreateOpts{Name: "x", UserID: "bob", PublicKey: pub}).Extract()
	wantCode(t, err, 403)
	_, err = keypairs.Get(ctx, alice, "for-bob", keypairs.GetOpts{UserID: "bob"}).Extract()
	wantCode(t, err, 403)
	_, err = keypairs.List(alice, keypairs.ListOpts{UserID: "bob"}).AllPages(ctx)
	wantCode(t, err, 403)
	wantCode(t, keypairs.Delete(ctx, alice, "for-bob", keypairs.DeleteOpts{UserID: "bob"}).ExtractErr(), 403)
	if err := keypairs.Delete(ctx, admin, "for-bob", keypairs.DeleteOpts{UserID: "bob"}).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	_, err = keypairs.Get(ctx, bob, "for-bob", nil).Extract()
	wantCode(t, err, 404)
}

// pageOpts adds 2.35's limit and marker, which gophercloud's ListOpts lacks.
type pageOpts struct {
	Limit  int    `q:"limit"`
	Marker string `q:"marker"`
}

func (o pageOpts) ToKeyPairListQuery() (string, error) {
	q, err := gophercloud.BuildQueryString(o)
	return q.String(), err
}

func TestGophercloudMicroversion235Pagination(t *testing.T) {
	srv := startServer(t, testTokens, "--quota-key-pairs", "300")
	ctx := context.Background()
	c := computeClient(t, srv, "alice-token", "2.35")
	pub, _ := sshKeygen(t, "-t", "ed25519")
	for i := range 250 {
		if _, err := keypairs.Create(ctx, c, keypairs.CreateOpts{Name: fmt.Sprintf("kp-%03d", i), PublicKey: pub}).Extract(); err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	marker := ""
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatal("pagination does not end")
		}
		page, err := keypairs.List(c, pageOpts{Limit: 100, Marker: marker}).AllPages(ctx)
		if err != nil {
			t.Fatal(err)
		}
		kps, err := keypairs.ExtractKeyPairs(page)
		if err != nil {
			t.Fatal(err)
		}
		for _, kp := range kps {
			names = append(names, kp.Name)
		}
		var links struct {
			Links []struct{ Rel, Href string } `json:"keypairs_links"`
		}
		if err := page.(keypairs.KeyPairPage).ExtractInto(&links); err != nil {
			t.Fatal(err)
		}
		if len(kps) < 100 {
			if len(links.Links) != 0 {
				t.Fatalf("last page has links %v", links.Links)
			}
			break
		}
		if len(links.Links) != 1 || links.Links[0].Rel != "next" {
			t.Fatalf("full page without a next link: %v", links.Links)
		}
		marker = kps[len(kps)-1].Name
		want := srv.URL + "/v2.1/os-keypairs?limit=100&marker=" + marker
		if links.Links[0].Href != want {
			t.Fatalf("next link %q, want %q", links.Links[0].Href, want)
		}
	}
	if len(names) != 250 {
		t.Fatalf("paged through %d key pairs, want 250", len(names))
	}
	for i, n := range names {
		if n != fmt.Sprintf("kp-%03d", i) {
			t.Fatalf("item %d is %q", i, n)
		}
	}
	_, err := keypairs.List(c, pageOpts{Marker: "nope"}).AllPages(ctx)
	wantCode(t, err, 400)
	_, err = keypairs.List(c, pageOpts{Limit: -1}).AllPages(ctx)
	wantCode(t, err, 400)
}

func TestGophercloudMicroversion292(t *testing.T) {
	srv := startServer(t, testTokens)
	ctx := context.Background()
	c := computeClient(t, srv, "alice-token", "2.92")
	pub, fp := sshKeygen(t, "-t", "ecdsa", "-b", "384")
	kp, err := keypairs.Create(ctx, c, keypairs.CreateOpts{Name: "me@host.example", PublicKey: pub}).Extract()
	if err != nil || kp.Fingerprint != fp || kp.Type != "ssh" {
		t.Fatalf("import: %+v %v", kp, err)
	}
	if _, err := keypairs.Get(ctx, c, "me@host.example", nil).Extract(); err != nil {
		t.Fatal(err)
	}
	_, err = keypairs.Create(ctx, c, keypairs.CreateOpts{Name: "generated"}).Extract()
	wantCode(t, err, 400)
	_, err = keypairs.Create(ctx, c, keypairs.CreateOpts{Name: "a/b", PublicKey: pub}).Extract()
	wantCode(t, err, 400)
	// The same name is refused below 2.92.
	_, err = keypairs.Create(ctx, computeClient(t, srv, "alice-token", "2.91"), keypairs.CreateOpts{Name: "x@y", PublicKey: pub}).Extract()
	wantCode(t, err, 400)

	// Version discovery as gophercloud reads it.
	mv, err := utils.GetSupportedMicroversions(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if mv.MinMajor != 2 || mv.MinMinor != 1 || mv.MaxMajor != 2 || mv.MaxMinor != 93 {
		t.Fatalf("microversions %+v", mv)
	}
}

// TestConcurrentCreates checks that uniqueness and quota hold under
// concurrent requests through the whole stack.
func TestConcurrentCreates(t *testing.T) { concurrentCreates(t) }

// TestConcurrentCreatesPostgres is the same on PostgreSQL.
func TestConcurrentCreatesPostgres(t *testing.T) { concurrentCreates(t, "--database", postgresURL(t)) }

func concurrentCreates(t *testing.T, flags ...string) {
	srv := startServer(t, testTokens, append([]string{"--quota-key-pairs", "100"}, flags...)...)
	ctx := context.Background()
	pub, _ := sshKeygen(t, "-t", "ed25519")

	run := func(c *gophercloud.ServiceClient, n int, name func(int) string) (ok, conflict, quota int64) {
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := keypairs.Create(ctx, c, keypairs.CreateOpts{Name: name(i), PublicKey: pub}).Extract()
				switch {
				case err == nil:
					atomic.AddInt64(&ok, 1)
				case gophercloud.ResponseCodeIs(err, 409):
					atomic.AddInt64(&conflict, 1)
				case gophercloud.ResponseCodeIs(err, 403):
					atomic.AddInt64(&quota, 1)
				default:
					t.Errorf("create %q: %v", name(i), err)
				}
			}()
		}
		wg.Wait()
		return
	}

	ok, conflict, _ := run(computeClient(t, srv, "bob-token", "2.2"), 50, func(int) string { return "same" })
	if ok != 1 || conflict != 49 {
		t.Fatalf("50 creates of one name: %d succeeded, %d conflicted", ok, conflict)
	}
	c := computeClient(t, srv, "alice-token", "2.2")
	ok, _, quota := run(c, 200, func(i int) string { return fmt.Sprintf("k%03d", i) })
	if ok != 100 || quota != 100 {
		t.Fatalf("200 creates over a quota of 100: %d succeeded, %d over quota", ok, quota)
	}
	all, err := keypairs.List(c, nil).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if l, _ := keypairs.ExtractKeyPairs(all); len(l) != 100 {
		t.Fatalf("alice has %d key pairs, want 100", len(l))
	}
}
