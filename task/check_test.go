package task

import (
	"strings"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/keypair"
)

func TestValidAddress(t *testing.T) {
	tests := []struct {
		addr string
		ok   bool
	}{
		{"10.0.0.5", true}, {"::1", true}, {"fe80::1", true}, {"host", true}, {"host.example.com", true},
		{"host.example.com.", true}, {"a-b.c", true}, {"", false}, {"-a.b", false}, {"a-.b", false},
		{"a..b", false}, {"a b", false}, {"a_b", false}, {"10.0.0.5:22", false}, {"[::1]", false},
		{strings.Repeat("a", 64) + ".b", false}, {strings.Repeat("a.", 127) + "ab", false}, {"héllo", false},
	}
	for _, tc := range tests {
		if got := ValidAddress(tc.addr); got != tc.ok {
			t.Errorf("ValidAddress(%q) = %v, want %v", tc.addr, got, tc.ok)
		}
	}
}

func TestServerCheck(t *testing.T) {
	good := func() *Server {
		return &Server{ID: "srv-1", ProjectID: "p", Address: "10.0.0.5", Port: 22, User: "root",
			HostKeys: []string{"ssh-ed25519 AAAA host"}}
	}
	if err := good().Check(); err != nil {
		t.Fatalf("Check of a good server: %v", err)
	}
	tests := []struct {
		name   string
		change func(*Server)
		want   string
	}{
		{"empty id", func(s *Server) { s.ID = "" }, "server id"},
		{"id 256", func(s *Server) { s.ID = strings.Repeat("x", 256) }, "server id"},
		{"id tab", func(s *Server) { s.ID = "a\tb" }, "server id"},
		{"id NUL", func(s *Server) { s.ID = "a\x00" }, "server id"},
		{"id bad utf-8", func(s *Server) { s.ID = "\xff" }, "server id"},
		{"id spaces", func(s *Server) { s.ID = " a" }, "server id"},
		{"no project", func(s *Server) { s.ProjectID = "" }, "project"},
		{"name newline", func(s *Server) { s.Name = "a\nb" }, "name"},
		{"address", func(s *Server) { s.Address = "a b" }, "address"},
		{"port 0", func(s *Server) { s.Port = 0 }, "port"},
		{"port 70000", func(s *Server) { s.Port = 70000 }, "port"},
		{"user", func(s *Server) { s.User = "" }, "login user"},
		{"user slash", func(s *Server) { s.User = "../root" }, "login user"},
		{"no host keys", func(s *Server) { s.HostKeys = nil }, "host key"},
		{"empty host key", func(s *Server) { s.HostKeys = []string{""} }, "host key"},
		{"sshd config relative", func(s *Server) { s.SSHDConfig = "etc/ssh/sshd_config" }, "sshd config"},
	}
	for _, tc := range tests {
		s := good()
		tc.change(s)
		err := s.Check()
		if keypair.ErrorCode(err) != keypair.EINVALID || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Check = %v, want EINVALID about %s", tc.name, err, tc.want)
		}
	}
	ok := good()
	ok.ID, ok.Name = strings.Repeat("é", 255), "web server 1"
	if err := ok.Check(); err != nil {
		t.Errorf("255 printable characters refused: %v", err)
	}
}

func TestParseID(t *testing.T) {
	id := NewID()
	for _, in := range []string{id, strings.ToUpper(id)} {
		if got, ok := ParseID(in); !ok || got != id {
			t.Errorf("ParseID(%q) = %q, %v; want %q", in, got, ok, id)
		}
	}
	for _, in := range []string{"", "x", "{" + id + "}", "urn:uuid:" + id, strings.ReplaceAll(id, "-", ""), id + " "} {
		if _, ok := ParseID(in); ok {
			t.Errorf("ParseID(%q) accepted", in)
		}
	}
}

func TestAuditEntry(t *testing.T) {
	tk := &Task{ID: NewID(), ProjectID: "p", UserID: "u", ServerID: "s", KeyPairName: "kp", KeyPairID: 3, Operation: Unbind}
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600))
	e := tk.AuditEntry(at)
	if e.Action != keypair.AuditDisassociate || e.Result != "READY_UNBIND" || e.Detail != "" || e.Time.Location() != time.UTC ||
		e.ServerID != "s" || e.TaskID != tk.ID || e.UserID != "u" || e.KeyPairID != 3 {
		t.Errorf("AuditEntry of a new UNBIND = %+v", e)
	}
	tk.Operation, tk.Phase, tk.ErrorCode, tk.ErrorMessage = Replace, Failed, FailHostKey, "host key mismatch"
	e = tk.AuditEntry(at)
	if e.Action != keypair.AuditAssociate || e.Result != "FAILED_REPLACE" || e.Detail != "host_key_mismatch: host key mismatch" {
		t.Errorf("AuditEntry of a failed REPLACE = %+v", e)
	}
}

func TestSafeText(t *testing.T) {
	for in, want := range map[string]string{
		"a\x00b\xffc":                      "ab\uFFFDc",
		"x\x1b]0;owned\a\r\u202ey":         "x\uFFFD]0;owned\uFFFD\uFFFD\uFFFDy",
		"two\nlines\tand a tab":            "two lines and a tab",
		"keep ünïcode, … and SHA256:ab+/=": "keep ünïcode, … and SHA256:ab+/=",
	} {
		if got := SafeText(in); got != want {
			t.Errorf("SafeText(%q) = %q, want %q", in, got, want)
		}
	}
}
