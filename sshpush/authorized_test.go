package sshpush

import (
	"bytes"
	"crypto/ed25519"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// Fixed test keys (public halves only; no private key is needed to
// rewrite a file).
const (
	keyA = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl a@example"
	keyB = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPHNEKchH+BZaSNhzC4oj4P1OVy8UJ0WhrE2qmk6ezlM b@example"
	keyC = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBL6w+ceyl6GblRuSuMRa52a8uG/tnfgS0o/fW0I7Zphpe//1K9DHor55yRT1T2PRwXnOuNzPsbFUyEnrV421Ma8= c"
)

// testNow is the time the pure tests rewrite at.
var testNow = time.Unix(1_800_000_000, 0)

// blobOf is the base64 part of a key line.
func blobOf(line string) string { return strings.Fields(line)[1] }

func TestRewriteAuthorizedKeys(t *testing.T) {
	for _, k := range []string{keyA, keyB, keyC} {
		if _, _, err := publicKeyLine(k); err != nil {
			t.Fatalf("test key %q: %v", k, err)
		}
	}
	probeLine := "ssh-ed25519 " + blobOf(keyB) + " " + probeComment + "deadbeef"
	oldProbe := fmt.Sprintf("ssh-ed25519 %s %s%d-00ff", blobOf(keyA), probeComment, testNow.Add(-11*time.Minute).Unix())
	freshProbe := fmt.Sprintf("ssh-ed25519 %s %s%d-00ff", blobOf(keyA), probeComment, testNow.Add(-time.Minute).Unix())
	cases := []struct {
		name, current, add string
		remove             []string
		want               string
	}{
		{"empty file, add", "", keyA, nil, keyA + "\n"},
		{"add after a last line without newline", "# x", keyA, nil, "# x\n" + keyA + "\n"},
		{"add keeps CRLF and comments", "# c\r\n" + keyB + "\r\n\n", keyA, nil, "# c\r\n" + keyB + "\r\n\n" + keyA + "\n"},
		{"already there with options", `from="10.0.0.1" ` + keyA + " old\n", keyA, nil, `from="10.0.0.1" ` + keyA + " old\n"},
		{"already there with another comment", "ssh-ed25519 " + blobOf(keyA) + "\n", keyA, nil, "ssh-ed25519 " + blobOf(keyA) + "\n"},
		{"cert-authority line does not count", "cert-authority " + keyA + "\n", keyA, nil, "cert-authority " + keyA + "\n" + keyA + "\n"},
		{"remove whatever options and comment", keyB + "\n" + `no-pty,command="echo a b" ` + "ssh-ed25519 " + blobOf(keyA) + " other\n" + keyA + "\n# end\n", "", []string{keyA}, keyB + "\n# end\n"},
		{"remove the last line without newline", keyB + "\n" + keyA, "", []string{keyA}, keyB + "\n"},
		{"replace", keyB + "\n# mid\n" + keyC + "\n", keyA, []string{keyB}, "# mid\n" + keyC + "\n" + keyA + "\n"},
		{"add wins over remove", keyA + "\n", keyA, []string{keyA}, keyA + "\n"},
		{"probe without a time removed", keyB + "\n" + probeLine + "\n", keyA, nil, keyB + "\n" + keyA + "\n"},
		{"old probe removed", oldProbe + "\n" + keyB + "\n", "", nil, keyB + "\n"},
		{"fresh probe kept", freshProbe + "\n" + keyB + "\n", "", nil, freshProbe + "\n" + keyB + "\n"},
		{"nothing to do", "# only\n\nnot a key\n", "", []string{keyA}, "# only\n\nnot a key\n"},
		{"add trims surrounding space", "", "  " + keyA + "  ", nil, keyA + "\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := RewriteAuthorizedKeys([]byte(c.current), c.add, c.remove, testNow)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != c.want {
				t.Errorf("got  %q\nwant %q", got, c.want)
			}
		})
	}
}

func TestRewriteAuthorizedKeysRefuses(t *testing.T) {
	for _, c := range []struct {
		name, add string
		remove    []string
	}{
		{"add not a key", "hello", nil},
		{"add two lines", keyA + "\n" + keyB, nil},
		{"add comment", "# " + keyA, nil},
		{"remove not a key", "", []string{"ssh-ed25519 AAAA"}},
	} {
		if _, err := RewriteAuthorizedKeys(nil, c.add, c.remove, testNow); err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}
}

// FuzzRewriteAuthorizedKeys: for any file and keys, every output line but
// the added one is an input line, in order, byte for byte; an input line
// holding neither a removed key nor a probe is kept; the added key is
// there and no removed one is; a second rewrite changes nothing.
func FuzzRewriteAuthorizedKeys(f *testing.F) {
	f.Add([]byte(keyA+"\n"), keyB, keyA)
	f.Add([]byte("# c\r\n"+`from="x",no-pty `+keyB+" z\n\n"+keyA), keyC, keyB)
	f.Add([]byte(""), keyA, "")
	f.Add([]byte("garbage\x00\xff\n"+keyC), "", keyC)
	f.Fuzz(func(t *testing.T, current []byte, add, remove string) {
		var removes []string
		if remove != "" {
			removes = []string{remove}
		}
		out, err := RewriteAuthorizedKeys(current, add, removes, testNow)
		if err != nil {
			return
		}
		in := bytes.SplitAfter(current, []byte("\n"))
		lines := bytes.SplitAfter(out, []byte("\n"))
		_, addBlob, _ := publicKeyLine(add)
		_, removeBlob, _ := publicKeyLine(remove)

		// Output lines are input lines in order, apart from the added line
		// (and the newline given to an unterminated last line before it).
		i := 0
		for n, l := range lines {
			if len(l) == 0 {
				continue
			}
			last := n == len(lines)-1 || (n == len(lines)-2 && len(lines[len(lines)-1]) == 0)
			if add != "" && last && string(l) == strings.TrimSpace(add)+"\n" {
				continue
			}
			for i < len(in) && !bytes.Equal(in[i], l) && !bytes.Equal(append(bytes.Clone(in[i]), '\n'), l) {
				i++
			}
			if i == len(in) {
				t.Fatalf("output line %q is not an input line in order", l)
			}
			i++
		}
		for _, l := range in {
			p := parseLine(bytes.TrimSuffix(l, []byte("\n")))
			dropped := p.blob != nil && (staleProbe(p.comment, testNow) ||
				(removeBlob != nil && bytes.Equal(p.blob, removeBlob) && !bytes.Equal(p.blob, addBlob)))
			if !dropped && len(l) > 0 && !bytes.Contains(out, bytes.TrimSuffix(l, []byte("\n"))) {
				t.Fatalf("input line %q lost", l)
			}
		}
		if add != "" && !holdsKey(out, add) {
			t.Fatalf("the added key is not in %q", out)
		}
		if remove != "" && !bytes.Equal(removeBlob, addBlob) && holdsKey(out, remove) {
			t.Fatalf("the removed key is still in %q", out)
		}
		again, err := RewriteAuthorizedKeys(out, add, removes, testNow)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("a second rewrite changed %q into %q (%v)", out, again, err)
		}
	})
}

// TestProbeLineParses: the probe line is a key line sshd reads, with the
// comment the rewrite recognises.
func TestProbeLineParses(t *testing.T) {
	p, err := newProbe(testNow)
	if err != nil {
		t.Fatal(err)
	}
	pl := parseLine([]byte(p.line))
	if pl.blob == nil || !strings.HasPrefix(pl.comment, probeComment) || staleProbe(pl.comment, testNow) ||
		!staleProbe(pl.comment, testNow.Add(probeMaxAge+time.Second)) {
		t.Fatalf("probe line %q parsed as %+v", p.line, pl)
	}
	if !bytes.Equal(pl.blob, p.signer.PublicKey().Marshal()) {
		t.Error("the probe line is not the signer's key")
	}
	p.zero()
	if !bytes.Equal(p.priv, make(ed25519.PrivateKey, ed25519.PrivateKeySize)) {
		t.Error("zero left key bytes")
	}
	var _ ssh.Signer = p.signer
}

// TestPosixCksum: posixCksum prints what the real cksum prints.
func TestPosixCksum(t *testing.T) {
	for _, in := range []string{"", "a", keyA + "\n", strings.Repeat("x\n", 40000)} {
		cmd := exec.Command("cksum")
		cmd.Stdin = strings.NewReader(in)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("cksum: %v", err)
		}
		f := strings.Fields(string(out))
		if want := f[0] + " " + f[1]; posixCksum([]byte(in)) != want {
			t.Errorf("posixCksum(%d bytes) = %q, cksum says %q", len(in), posixCksum([]byte(in)), want)
		}
	}
}
