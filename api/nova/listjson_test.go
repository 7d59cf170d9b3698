package nova

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzListJSON checks that appendList writes exactly what json.Marshal
// writes for the same page, whatever the names, keys and links hold.
func FuzzListJSON(f *testing.F) {
	f.Add("k1", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBrCjG9fCb9CCti5X/udSkBtPhQj1xLbHxE4m6K/RpWu ed", "00:11:22", "ssh", "", 2)
	f.Add("a<b>&c", "ssh-rsa AAAA \"quoted\" \\ back", "ff", "", "http://h/v2.1/os-keypairs?limit=1&marker=k", 1)
	f.Add("ünï\u2028cödé", "\x00\x1f\x7f\xff\xfe", "\u2029", "x509", "", 0)
	f.Add("", "", "", "", "", 3)
	f.Fuzz(func(t *testing.T, name, key, fp, typ, href string, n int) {
		lv := listView{Keypairs: []listEntry{}}
		for i := range n % 4 {
			lv.Keypairs = append(lv.Keypairs, listEntry{Keypair: listItem{Name: name + string(rune('a'+i)), PublicKey: key, Fingerprint: fp, Type: typ}})
		}
		if href != "" {
			lv.Links = []link{{Rel: "next", Href: href}}
		}
		want, err := json.Marshal(lv)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendList(nil, lv); !bytes.Equal(got, want) {
			t.Fatalf("appendList:\n got %s\nwant %s", got, want)
		}
	})
}
