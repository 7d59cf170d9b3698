package sshpush

import (
	"strings"
	"testing"
)

const block = blockBegin + "\n" + blockBody + blockEnd + "\n"

func TestPasswordBlock(t *testing.T) {
	for _, c := range []struct{ name, in, with string }{
		{"empty", "", block},
		{"plain", "Port 22\nPasswordAuthentication yes\n", "Port 22\nPasswordAuthentication yes\n\n" + block},
		{"no final newline", "Port 22", "Port 22\n\n" + block},
		{"ends in a Match block", "Port 22\nMatch user bob\n\tPasswordAuthentication yes\n", "Port 22\nMatch user bob\n\tPasswordAuthentication yes\n\n" + block},
		{"already there", "Port 22\n\n" + block, "Port 22\n\n" + block},
		{"there but not last", "Port 22\n\n" + block + "Match user x\n\tX11Forwarding no\n", "Port 22\nMatch user x\n\tX11Forwarding no\n\n" + block},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := string(WithPasswordBlock([]byte(c.in)))
			if got != c.with {
				t.Errorf("WithPasswordBlock:\n got %q\nwant %q", got, c.with)
			}
			if !hasPasswordBlock([]byte(got)) {
				t.Error("hasPasswordBlock is false after adding it")
			}
			back := string(WithoutPasswordBlock([]byte(got)))
			if !strings.Contains(c.in, blockBegin) && back != c.in && back != c.in+"\n" {
				t.Errorf("WithoutPasswordBlock(With(x)) = %q, want %q", back, c.in)
			}
			if hasPasswordBlock([]byte(back)) {
				t.Error("hasPasswordBlock is true after removing it")
			}
		})
	}
	// An unterminated block is left alone rather than cut half away.
	broken := "Port 22\n" + blockBegin + "\nPasswordAuthentication no\n"
	if got := string(WithoutPasswordBlock([]byte(broken))); got != broken {
		t.Errorf("unterminated block: %q", got)
	}
}

func TestPidFile(t *testing.T) {
	for in, want := range map[string]string{
		"":                                   "",
		"Port 22\n":                          "",
		"PidFile /run/x.pid\n":               "/run/x.pid",
		"  pidfile\t/run/y.pid # c\n":        "/run/y.pid",
		"PidFile=/run/z.pid\n":               "/run/z.pid",
		"PidFile = \"/run/q.pid\"\n":         "/run/q.pid",
		"# PidFile /no\nPidFile /yes\n":      "/yes",
		"Match all\n\tPidFile /not-global\n": "",
	} {
		if got := pidFile([]byte(in)); got != want {
			t.Errorf("pidFile(%q) = %q, want %q", in, got, want)
		}
	}
}
