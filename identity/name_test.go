package identity

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateName(t *testing.T) {
	tests := []struct {
		name, in string
		ok       bool
	}{
		{"plain", "alice", true},
		{"spaces and punctuation", "dev team (eu-1)", true},
		{"non-ASCII letters", "Zoë 山田", true},
		{"255 characters", strings.Repeat("é", 255), true},
		{"empty", "", false},
		{"256 characters", strings.Repeat("a", 256), false},
		{"60 KiB", strings.Repeat("a", 60<<10), false},
		{"only white space", "   ", false},
		{"NUL", "ali\x00ce", false},
		{"newline", "alice\nadmin", false},
		{"escape", "\x1b[31malice", false},
		{"DEL", "alice\x7f", false},
		{"C1 control", "alice\u0085", false},
		{"right-to-left override", "alice\u202Etxt.exe", false},
		{"zero-width space", "ad\u200Bmin", false},
		{"byte order mark", "\uFEFFadmin", false},
		{"line separator", "alice\u2028bob", false},
		{"invalid UTF-8", "alice\xff", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateName("user", tt.in)
			if tt.ok {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var ie *InvalidError
			if !errors.Is(err, ErrInvalid) || !errors.As(err, &ie) || ie.Field != "name" || !strings.HasPrefix(ie.Reason, "a user name must") {
				t.Fatalf("want an InvalidError for name, got %v", err)
			}
		})
	}
}

func TestValidateDescription(t *testing.T) {
	for _, tt := range []struct {
		name, in string
		ok       bool
	}{
		{"empty", "", true},
		{"text with a newline", "the dev team\nin eu-1", true},
		{"NUL", "a\x00b", false},
		{"invalid UTF-8", "a\xffb", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateDescription(tt.in)
			if (err == nil) != tt.ok {
				t.Fatalf("ValidateDescription(%q) = %v, want ok %v", tt.in, err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrInvalid) {
				t.Fatalf("not an ErrInvalid: %v", err)
			}
		})
	}
}
