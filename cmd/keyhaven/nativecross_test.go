package main

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/keypairs"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/kps/v3/model"
)

// TestNativeCrossDialect: a key pair made through keyhaven's own API is a
// key pair of Nova (gophercloud) and KPS (the Huawei SDK) too, listed,
// shown and deleted with the right MD5 fingerprint; an expired one
// disappears from all three.
func TestNativeCrossDialect(t *testing.T) {
	srv, _, c, alice := nativeUsers(t)
	ctx := context.Background()
	nova := computeClient(t, srv, alice.Token, "2.2")
	kpsc := kpsClient(t, srv, alice)

	var a, b nativeKeyPair
	c.want(201, "POST", "/keyhaven/v1/keypairs", `{"name": "native-a", "type": "ed25519", "tags": {"env": "prod"}}`, &a)
	c.want(201, "POST", "/keyhaven/v1/keypairs", `{"name": "native-b", "type": "ed25519", "tags": {"env": "dev"}}`, &b)
	if md5 := fingerprintOf(t, writePub(t, a.PublicKey)); a.FingerprintMD5 != md5 {
		t.Fatalf("native MD5 %s, ssh-keygen %s", a.FingerprintMD5, md5)
	}

	// Nova lists and shows them with the same public key and fingerprint.
	pages, err := keypairs.List(nova, nil).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	list, err := keypairs.ExtractKeyPairs(pages)
	if err != nil || len(list) != 2 {
		t.Fatalf("Nova list: %+v %v", list, err)
	}
	for i, want := range []nativeKeyPair{a, b} {
		if list[i].Name != want.Name || list[i].Fingerprint != want.FingerprintMD5 || list[i].PublicKey != want.PublicKey {
			t.Fatalf("Nova lists %+v, native says %+v", list[i], want)
		}
	}
	got, err := keypairs.Get(ctx, nova, "native-a", nil).Extract()
	if err != nil || got.Fingerprint != a.FingerprintMD5 || got.Type != "ssh" || got.UserID != alice.ID {
		t.Fatalf("Nova show: %+v %v", got, err)
	}

	// KPS lists and shows them too.
	kl, err := kpsc.ListKeypairs(&model.ListKeypairsRequest{})
	if err != nil || len(*kl.Keypairs) != 2 {
		t.Fatalf("KPS list: %+v %v", kl, err)
	}
	for i, want := range []nativeKeyPair{a, b} {
		if kp := (*kl.Keypairs)[i].Keypair; *kp.Name != want.Name || *kp.Fingerprint != want.FingerprintMD5 {
			t.Fatalf("KPS lists %s %s, native says %s %s", *kp.Name, *kp.Fingerprint, want.Name, want.FingerprintMD5)
		}
	}
	d, err := kpsc.ListKeypairDetail(&model.ListKeypairDetailRequest{KeypairName: "native-b"})
	if err != nil || *d.Keypair.Fingerprint != b.FingerprintMD5 || *d.Keypair.PublicKey != b.PublicKey {
		t.Fatalf("KPS show: %+v %v", d, err)
	}

	// Deleted through Nova, and through KPS: gone from the native API.
	if err := keypairs.Delete(ctx, nova, "native-a", nil).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if _, err := kpsc.DeleteKeypair(&model.DeleteKeypairRequest{KeypairName: "native-b"}); err != nil {
		t.Fatal(err)
	}
	var l nativeList
	c.want(200, "GET", "/keyhaven/v1/keypairs", "", &l)
	if len(l.KeyPairs) != 0 {
		t.Fatalf("native list after Nova's and KPS's deletes: %v", l.names())
	}

	// An expired key pair disappears from all three.
	c.want(201, "POST", "/keyhaven/v1/keypairs", `{"name": "brief", "ttl": 1}`, nil)
	c.want(201, "POST", "/keyhaven/v1/keypairs", `{"name": "stays"}`, nil)
	deadline := time.Now().Add(30 * time.Second)
	for {
		var nl nativeList
		c.want(200, "GET", "/keyhaven/v1/keypairs", "", &nl)
		pages, err := keypairs.List(nova, nil).AllPages(ctx)
		if err != nil {
			t.Fatal(err)
		}
		nv, _ := keypairs.ExtractKeyPairs(pages)
		var novaNames []string
		for _, kp := range nv {
			novaNames = append(novaNames, kp.Name)
		}
		kl, err := kpsc.ListKeypairs(&model.ListKeypairsRequest{})
		if err != nil {
			t.Fatal(err)
		}
		var kpsNames []string
		for _, kp := range *kl.Keypairs {
			kpsNames = append(kpsNames, *kp.Keypair.Name)
		}
		want := []string{"stays"}
		if slices.Equal(nl.names(), want) && slices.Equal(novaNames, want) && slices.Equal(kpsNames, want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("30 s after expiry: native %v, Nova %v, KPS %v", nl.names(), novaNames, kpsNames)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if p := c.do("GET", "/keyhaven/v1/keypairs/brief", "", false).Problem(t); p.Code != "not_found" {
		t.Fatalf("show of an expired key pair: %+v", p)
	}

	// Nova's x509 certificates show here too, with both fingerprints.
	if _, err := keypairs.Create(ctx, nova, keypairs.CreateOpts{Name: "winrm", Type: "x509"}).Extract(); err != nil {
		t.Fatal(err)
	}
	var x nativeKeyPair
	c.want(200, "GET", "/keyhaven/v1/keypairs/winrm", "", &x)
	if x.Type != "x509" || !strings.HasPrefix(x.FingerprintSHA256, "SHA256:") || len(x.FingerprintMD5) != 47 {
		t.Fatalf("an x509 key pair through the native API: %+v", x)
	}
}
