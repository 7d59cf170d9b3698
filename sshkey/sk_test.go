package sshkey

import (
	"errors"
	"testing"
)

// FIDO public keys from OpenSSH's regression test data
// (regress/unittests/sshkey/testdata/*_sk[12].pub), with the SHA-256
// fingerprints OpenSSH's own *.fp files give where they exist; making
// real ones needs a security key.
var skSamples = []struct {
	line, sha256 string
	typ          KeyType
}{
	{"sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tAAAAICFo/k5LU8863u66YC9eUO2170QduohPURkQnbLa/dczAAAABHNzaDo= ED25519-SK test key #1\n", "", SKEd25519},
	{"sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tAAAAIBXx+7VJzfVAsrZH/MY903e97nG4W8NzuYQBbFtoj5hzAAAABHNzaDo= ED25519-SK test key #2\n", "SHA256:b9BVPS5vuU4yu/FgweojLLg6zbfmBBoWLUgibdxxsoo", SKEd25519},
	{"sk-ecdsa-sha2-nistp256@openssh.com AAAAInNrLWVjZHNhLXNoYTItbmlzdHAyNTZAb3BlbnNzaC5jb20AAAAIbmlzdHAyNTYAAABBBGdVPkKOLUMZ7b6rZfS8BOHotic4NX4MmuyEmiuvkaeKlbb1F+5oNezRYHpcF6P104trNVEONCu1XX1CA7px+QUAAAAEc3NoOg== ECDSA-SK test key #1\n", "", SKECDSAP256},
	{"sk-ecdsa-sha2-nistp256@openssh.com AAAAInNrLWVjZHNhLXNoYTItbmlzdHAyNTZAb3BlbnNzaC5jb20AAAAIbmlzdHAyNTYAAABBBJOX5JHqtOCU5mZxCQK0nc936VaKd7Oj+AeTihl1lxNCyYRizvroGVYa4HYHPepBEtrpxew/7gr2QCMAnvN2gVQAAAAEc3NoOg== ECDSA-SK test key #2\n", "SHA256:pz8VkgtRY3r50F4zSuzRlmq9c6vPTpJXLKKOgkyUcKE", SKECDSAP256},
}

// skEd25519Private is OpenSSH's regress ed25519_sk1, the private file
// (a key handle, not a secret) of the first sample.
const skEd25519Private = `-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAASgAAABpzay1zc2
gtZWQyNTUxOUBvcGVuc3NoLmNvbQAAACAhaP5OS1PPOt7uumAvXlDtte9EHbqIT1EZEJ2y
2v3XMwAAAARzc2g6AAAAuBocY6UaHGOlAAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY2
9tAAAAICFo/k5LU8863u66YC9eUO2170QduohPURkQnbLa/dczAAAABHNzaDoBAAAAQJYq
lGHhFoA25/q8X/rdTqDAb7dhqs4ehhd/w8x99CwiIWj+TktTzzre7rpgL15Q7bXvRB26iE
9RGRCdstr91zMAAAAAAAAAFkVEMjU1MTktU0sgdGVzdCBrZXkgIzEBAgM=
-----END OPENSSH PRIVATE KEY-----
`

// TestSKSamples checks that the FIDO samples parse, are typed, and carry
// the fingerprints ssh-keygen (and OpenSSH's own test data) give them.
func TestSKSamples(t *testing.T) {
	needTool(t, "ssh-keygen")
	for _, s := range skSamples {
		k, err := ParseAuthorizedKey(s.line)
		if err != nil {
			t.Fatalf("%.40s: %v", s.line, err)
		}
		md5, sha := keygenFingerprints(t, writeFile(t, "sk.pub", s.line, 0o644))
		if k.FingerprintMD5() != md5 || k.FingerprintSHA256() != sha || (s.sha256 != "" && sha != s.sha256) {
			t.Errorf("%s: %s %s, ssh-keygen %s %s, OpenSSH data %s", k.Comment, k.FingerprintMD5(), k.FingerprintSHA256(), md5, sha, s.sha256)
		}
		if got := KeyTypeOf(k); got != s.typ || got.Generatable() || got.SSHAlgorithm() != k.Type {
			t.Errorf("%s: type %s", k.Comment, got)
		}
		for _, f := range Formats() {
			if f.Supports(s.typ) {
				t.Errorf("%s claims to hold %s private keys", f, s.typ)
			}
		}
	}
	// A FIDO private key file holds a handle on the token, not a key.
	if _, _, err := ParsePrivateKey([]byte(skEd25519Private)); !errors.Is(err, ErrPrivateKeyType) {
		t.Errorf("sk private key: %v, want ErrPrivateKeyType", err)
	}
}
